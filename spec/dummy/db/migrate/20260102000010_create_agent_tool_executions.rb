# frozen_string_literal: true

# The shape `rails g agent_sdk:tool_executions` writes.
class CreateAgentToolExecutions < ActiveRecord::Migration[7.1]
  def change
    json = connection.adapter_name.match?(/postg/i) ? :jsonb : :json

    create_table :agent_tool_executions do |t|
      t.references :agent_session, null: false, index: false, foreign_key: true
      t.string :key, null: false
      t.string :tool_name, null: false
      t.column :input, json
      t.string :status, null: false, default: "started"
      t.text :result
      t.boolean :is_error, null: false, default: false
      t.datetime :finished_at
      t.timestamps
    end
    add_index :agent_tool_executions, [:agent_session_id, :key], unique: true
  end
end
