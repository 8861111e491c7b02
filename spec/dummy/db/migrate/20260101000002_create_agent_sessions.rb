# frozen_string_literal: true

# The shape `rails g agent_sdk:install` writes (/work/plan-rails.md, "agent_sessions columns").
class CreateAgentSessions < ActiveRecord::Migration[7.1]
  def change
    json = connection.adapter_name.match?(/postg/i) ? :jsonb : :json

    create_table :agent_sessions do |t|
      t.references :user, foreign_key: true, index: false # [user_id, status] below serves lookups by user
      t.string :claude_session_id
      t.string :status, null: false, default: "pending"
      t.string :transport
      t.string :model_id
      t.text :prompt
      t.text :result
      t.string :failure_reason
      t.text :error_message
      t.decimal :total_cost_usd, precision: 12, scale: 6, default: 0
      t.integer :num_turns, default: 0
      t.bigint :input_tokens, default: 0
      t.bigint :output_tokens, default: 0
      t.bigint :cache_read_tokens, default: 0
      t.bigint :cache_creation_tokens, default: 0
      t.datetime :started_at
      t.datetime :finished_at
      t.datetime :heartbeat_at
      t.string :claimed_by
      t.datetime :claimed_at
      t.datetime :cancel_requested_at
      t.integer :recoveries, null: false, default: 0
      t.column :metadata, json, default: {}
      t.timestamps
    end
    add_index :agent_sessions, :claude_session_id
    add_index :agent_sessions, [:status, :heartbeat_at]
    add_index :agent_sessions, [:user_id, :status]
    add_index :agent_sessions, :created_at
  end
end
