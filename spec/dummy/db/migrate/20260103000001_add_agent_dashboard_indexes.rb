# frozen_string_literal: true

# As `rails g agent_sdk:dashboard` writes it (the indexes the dashboard's pages read through).
class AddAgentDashboardIndexes < ActiveRecord::Migration[7.1]
  def change
    add_index :agent_sessions, [:status, :created_at], if_not_exists: true
    add_index :agent_sessions, [:model_id, :created_at], if_not_exists: true
    add_index :agent_sessions, [:transport, :created_at], if_not_exists: true
    add_index :agent_sessions, [:user_id, :created_at], if_not_exists: true
    add_index :agent_sessions, :created_at, if_not_exists: true
    add_index :agent_messages, [:agent_session_id, :message_type], if_not_exists: true
  end
end
