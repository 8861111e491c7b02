# frozen_string_literal: true

# The retrieval tool's table (spec/rails/retrieval_spec.rb): a user's documents with an embedding of their content.
# On PostgreSQL the vector is neighbor's `cube` (postgresql-contrib; Debian 12 packages no pgvector) — an app with
# pgvector writes `enable_extension "vector"` and `t.column :embedding, :vector, limit: 1536` instead. On SQLite
# (spec/rails runs there too) the column is plain text and the retrieval examples skip.
class CreateDocuments < ActiveRecord::Migration[7.1]
  def change
    postgresql = connection.adapter_name.match?(/postg/i)
    enable_extension "cube" if postgresql

    create_table :documents do |t|
      t.references :user, foreign_key: true
      t.string :title
      t.text :content
      t.column :embedding, postgresql ? :cube : :text
      t.timestamps
    end
  end
end
