# frozen_string_literal: true

# The other agent kind: research with a notes tool and its own skill.
class ResearchAgent < ApplicationRecord
  belongs_to :user

  acts_as_agent model: "claude-haiku-4-5", instructions: "You are a careful research assistant.",
                tools: [SearchNotes], skills: ["app/agents/research/skills"],
                provider: -> { { api_key: api_key }.compact }
end
