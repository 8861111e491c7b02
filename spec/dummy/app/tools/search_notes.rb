# frozen_string_literal: true

# ResearchAgent's tool.
class SearchNotes < RubyLLM::AgentSDK::Tool
  tool_name "search_notes"
  description "Searches the research notes"
  param :query, :string, required: true

  def call(query:)
    { query: query, hits: ["note 1"] }
  end
end
