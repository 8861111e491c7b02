# frozen_string_literal: true

# An agent kind of its own: answers support questions with an order tool and two skills.
class SupportAgent < ApplicationRecord
  belongs_to :user

  acts_as_agent model: "claude-sonnet-4-5", instructions: :support_instructions, tools: [LookupOrder],
                skills: "app/agents/support/skills", provider: :credentials

  private

  def support_instructions
    "You are Acme's support agent, speaking to #{user.name}."
  end

  # Credentials per record (the column here; an app might read the user's, or a vault's).
  def credentials
    { api_key: api_key }.compact
  end
end
