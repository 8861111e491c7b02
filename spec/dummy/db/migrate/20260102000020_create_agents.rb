# frozen_string_literal: true

# Two agent kinds per user (acts_as_agent): each table holds its conversation state and token totals.
class CreateAgents < ActiveRecord::Migration[7.1]
  def change
    json = connection.adapter_name.match?(/postg/i) ? :jsonb : :json

    %i[support_agents research_agents].each do |table|
      create_table table do |t|
        t.references :user, null: false, foreign_key: true
        t.string :name
        t.string :api_key
        t.column :agent_state, json, default: {}
        t.bigint :input_tokens, default: 0
        t.bigint :output_tokens, default: 0
        t.decimal :total_cost_usd, precision: 12, scale: 6, default: 0
        t.integer :num_turns, default: 0
        t.timestamps
      end
    end
  end
end
