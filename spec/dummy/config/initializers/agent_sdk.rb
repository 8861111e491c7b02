# frozen_string_literal: true

# config.agent_sdk for a worker process the specs start (spec/support/job_backends.rb): the spec that starts it passes
# its settings as JSON (e.g. transport :api with query_options pointing at its FakeServer), since a setting made in
# the spec process never reaches another process.
if (json = ENV["AGENT_SDK_CONFIG_JSON"])
  JSON.parse(json).each do |key, value|
    value = value.to_sym if %w[transport queue_name].include?(key) && value.is_a?(String)
    Rails.application.config.agent_sdk.public_send(:"#{key}=", value)
  end
end

# A Ruby file a worker process loads after that (bench/crash_property.rb's tools: classes do not travel as JSON).
require ENV["AGENT_SDK_WORKER_REQUIRE"] if ENV["AGENT_SDK_WORKER_REQUIRE"]
