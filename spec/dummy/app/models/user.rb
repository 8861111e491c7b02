# frozen_string_literal: true

class User < ApplicationRecord
  has_many :agent_sessions, dependent: :destroy
  has_many :support_agents, dependent: :destroy
  has_many :research_agents, dependent: :destroy
end
