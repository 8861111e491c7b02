# frozen_string_literal: true

# As `rails g agent_sdk:install` writes it.
class AgentSession < ApplicationRecord
  include RubyLLM::AgentSDK::ActiveRecord::SessionRecord

  belongs_to :user, optional: true
  has_many :agent_messages, -> { order(:position) }, dependent: :destroy
end
