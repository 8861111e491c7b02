# frozen_string_literal: true

# The retrieval tool's table (spec/rails/retrieval_spec.rb): a user's documents with an embedding of their content.
# On PostgreSQL the vector is pgvector's `vector` where the extension is installed, else neighbor's `cube`
# (postgresql-contrib; Debian 12 packages no pgvector, so this machine runs cube). On SQLite (spec/rails runs there
# too) the column is plain text and the retrieval examples skip.
class CreateDocuments < ActiveRecord::Migration[7.1]
  def change
    postgresql = connection.adapter_name.match?(/postg/i)
    vector_type = if !postgresql then :text
                  elsif connection.extension_available?("vector") then :vector
                  else :cube
                  end
    enable_extension vector_type.to_s if postgresql

    create_table :documents do |t|
      t.references :user, foreign_key: true
      t.string :title
      t.text :content
      t.column :embedding, vector_type, **(vector_type == :vector ? { limit: 64 } : {})
      t.timestamps
    end
  end
end
