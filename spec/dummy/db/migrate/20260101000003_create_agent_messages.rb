# frozen_string_literal: true

# The shape `rails g agent_sdk:install` writes (/work/plan-rails.md, "agent_messages columns").
class CreateAgentMessages < ActiveRecord::Migration[7.1]
  def change
    json = connection.adapter_name.match?(/postg/i) ? :jsonb : :json

    create_table :agent_messages do |t|
      t.references :agent_session, null: false, foreign_key: true, index: false # the indexes below lead with it
      t.integer :position, null: false
      t.string :message_type, null: false
      t.string :subtype
      t.text :content
      t.string :uuid
      t.column :tool_calls, json, default: []
      t.column :metadata, json, default: {}
      t.text :raw
      t.boolean :pending, default: false, null: false # sent while the session ran: promoted between rounds
      t.timestamps
    end
    add_index :agent_messages, [:agent_session_id, :position], unique: true
    add_index :agent_messages, :uuid
    add_index :agent_messages, [:agent_session_id, :message_type]
  end
end
