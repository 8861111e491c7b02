# frozen_string_literal: true

# SupportAgent's tool.
class LookupOrder < RubyLLM::AgentSDK::Tool
  tool_name "lookup_order"
  description "Looks an order up by number"
  param :number, :string, required: true

  def call(number:)
    { number: number, status: "shipped" }
  end
end
