# frozen_string_literal: true

# REDIS_URL comes from spec/support/servers.rb (the Redis it started); the worker process inherits it.
if ENV["REDIS_URL"]
  Sidekiq.configure_server do |config|
    config.redis = { url: ENV["REDIS_URL"] }
    # retry_on's scheduled retries reach the queue within a fraction of a second: the default polls every ~5 s,
    # after a first wait of 10-15 s (0-5 s when the interval is set like this).
    config[:poll_interval_average] = 0.2
  end
  Sidekiq.configure_client { |config| config.redis = { url: ENV["REDIS_URL"] } }
end
