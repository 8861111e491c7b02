# frozen_string_literal: true

# As `rails g agent_sdk:install` writes it.
class AgentMessage < ApplicationRecord
  include RubyLLM::AgentSDK::ActiveRecord::MessageRecord

  belongs_to :agent_session
end
