# frozen_string_literal: true

# Sets RubyLLM::AgentSDK.config keys for one example and puts the old values back after.
module AgentConfigHelpers
  API_KEY = "sk-ant-api03-#{'S3CR3T' * 8}".freeze

  def with_agent_config(**values)
    config = RubyLLM::AgentSDK.config
    old = values.keys.to_h { |key| [key, config.public_send(key)] }
    values.each { |key, value| config.public_send(:"#{key}=", value) }
    yield
  ensure
    old&.each { |key, value| config.public_send(:"#{key}=", value) }
  end

  # The :api transport against a FakeServer: yields the server, with config.agent_sdk pointing at it.
  def with_api_server(turns, **config, &block)
    RubyLLM::AgentSDK::Testing::FakeServer.open(turns) do |server|
      query_options = { base_url: server.base_url, api_key: API_KEY, max_retries: 0,
                        session_store: nil }.merge(config.delete(:query_options) || {}).compact
      with_agent_config(transport: :api, model: "claude-sonnet-4-5", query_options: query_options, heartbeat_interval: 0.05,
                        **config) do
        block.call(server)
      end
    end
  end
end
