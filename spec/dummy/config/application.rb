# frozen_string_literal: true

require_relative "boot"

# Only the frameworks the gem's Rails layer needs (no Active Storage, Action Mailer, Action Text, Action Mailbox).
require "rails"
require "active_record/railtie"
require "active_job/railtie"
require "action_controller/railtie"
require "action_view/railtie"
require "action_cable/engine"
require "turbo-rails"
# The job backends spec/support/job_backends.rb runs real worker processes of (bin/jobs, sidekiq).
require "solid_queue"
require "sidekiq"
# The retrieval tool's specs (has_neighbors on Document); Bundler.require does this in an app.
require "neighbor"

# After Rails, as Bundler.require does in an app: lib/ruby_llm/agent_sdk.rb then loads its Railtie. In the spec
# process the gem is loaded first (spec_helper), before Rails, so its Railtie is required here by name.
require "agent_sdk"
require "ruby_llm/agent_sdk/rails/railtie"

module Dummy
  class Application < Rails::Application
    config.load_defaults Rails::VERSION::STRING.to_f
    config.root = File.expand_path("..", __dir__)
    config.eager_load = false
    # Not a secret: this app only ever runs the gem's specs.
    config.secret_key_base = ENV.fetch("SECRET_KEY_BASE", "agent-sdk-dummy-app-secret-key-base-for-tests-only")
    config.active_record.dump_schema_after_migration = false
    # The test adapter in the spec process; a worker process (spec/support/job_backends.rb) runs its backend's, so
    # what its jobs enqueue (retry_on's retries) goes back to the same backend.
    config.active_job.queue_adapter = ENV.fetch("AGENT_SDK_QUEUE_ADAPTER", "test").to_sym
    config.solid_queue.connects_to = { database: { writing: :queue } }
  end
end
