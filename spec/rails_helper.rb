# frozen_string_literal: true

# Boots spec/dummy (a Rails app on SQLite; AGENT_SDK_DB=postgresql for PostgreSQL) for the Rails layer's specs.
# Only spec files that require this load Rails: the rest of the suite runs without it (bin/test runs spec/rails in
# processes of its own). Every example group here is tagged :rails.
#
# - Each example runs in a transaction rolled back after it (rspec-rails' transactional fixtures), except groups
#   tagged :commits: those commit for real (other threads and processes must see the rows) and every table is
#   truncated before and after each of their examples.
# - ActiveJob's test adapter and ActiveJob::TestHelper (assert_enqueued_with, perform_enqueued_jobs) for every
#   group but the job_backend: ones, which run jobs on a real Solid Queue or Sidekiq process
#   (spec/support/job_backends.rb).
# - Turbo's capture_turbo_stream_broadcasts / assert_turbo_stream_broadcasts.
ENV["RAILS_ENV"] = "test"
require_relative "spec_helper"
require_relative "support/servers"
require_relative "support/rails/dummy_database"

AgentSDKSpec::DummyDatabase.configure_env
require_relative "dummy/config/environment"
abort("spec/dummy must boot in the test environment (RAILS_ENV=#{Rails.env})") unless Rails.env.test?
AgentSDKSpec::DummyDatabase.prepare

require "rspec/rails"
require "active_support/testing/assertions"
require "turbo/broadcastable/test_helper"
require_relative "support/job_backends"

module AgentSDKSpec
  # Included in :commits groups: no wrapping transaction, so rows are committed where other connections see them.
  module RealCommits
    def self.included(group)
      group.use_transactional_tests = false
    end
  end
end

RSpec.configure do |config|
  config.use_active_record = true
  config.use_transactional_fixtures = true
  config.filter_rails_from_backtrace!

  config.define_derived_metadata(file_path: %r{/spec/rails/}) { |metadata| metadata[:rails] = true }

  config.include AgentSDKSpec::RealCommits, :commits
  config.before(:each, :commits) { AgentSDKSpec::DummyDatabase.truncate }
  config.after(:each, :commits) { AgentSDKSpec::DummyDatabase.truncate }

  # ActionCable::TestHelper (which Turbo's helper includes) needs ActiveSupport's assertions first under RSpec.
  config.include ActiveSupport::Testing::Assertions, :rails
  config.include Turbo::Broadcastable::TestHelper, :rails
  # Not where a real backend runs the jobs: TestHelper would put the test adapter back on every job class.
  config.include ActiveJob::TestHelper, rails: true, job_backend: ->(backend) { !backend }
end
