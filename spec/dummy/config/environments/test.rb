# frozen_string_literal: true

Rails.application.configure do
  config.enable_reloading = false
  config.eager_load = false
  config.consider_all_requests_local = true
  config.action_controller.perform_caching = false
  config.cache_store = :null_store
  config.action_dispatch.show_exceptions = :rescuable
  config.action_controller.allow_forgery_protection = false
  config.active_support.deprecation = :stderr
  config.active_support.disallowed_deprecation = :raise
  config.log_level = ENV.fetch("AGENT_SDK_LOG_LEVEL", "info").to_sym
  # The worker processes (bin/jobs, sidekiq) log to stdout, which spec/support/job_backends.rb keeps as an artifact.
  config.logger = ActiveSupport::Logger.new($stdout) if ENV["AGENT_SDK_JOB_PROCESS"]
end
