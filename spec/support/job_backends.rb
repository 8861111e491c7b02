# frozen_string_literal: true

require "fileutils"
require "json"
require "rbconfig"
require_relative "servers"

# Real job backends for the dummy app (spec/dummy), each in a worker process of its own:
# - Solid Queue: spec/dummy/bin/jobs (SolidQueue's supervisor, a worker and a dispatcher) on the dummy's queue
#   database, SQLite or PostgreSQL as the dummy is (AGENT_SDK_DB);
# - Sidekiq 7: `sidekiq -r spec/dummy` against the Redis of AgentSDKSpec::Servers.
#
# A group tagged `job_backend: :solid_queue` (or :sidekiq) gets one worker process for all its examples (started
# before the first, after the group's before(:context) hooks; stopped after the last), its jobs go to that backend (ActiveJob::Base.queue_adapter, put back
# after each example), and it commits for real (:commits, see spec/rails_helper.rb). In its examples:
#
#   job_worker                     # the JobBackends::Worker (pid, log_path, log)
#   wait_for(timeout: 30) { JobRun.exists?(tag: "x") }   # polls the database; on a timeout fails with the log
#
# The worker's ENV comes from the group's `job_worker_env` when it defines one (called when the worker starts);
# `agent_config_env(transport: :api, query_options: { base_url: … })` there gives the worker those config.agent_sdk
# settings (spec/dummy/config/initializers/agent_sdk.rb).
#
# The worker's output is kept in tmp/artifacts/<run>/ (AgentSDKSpec.artifacts_dir).
module AgentSDKSpec
  module JobBackends
    DUMMY_ROOT = File.expand_path("../dummy", __dir__)
    BACKENDS = %i[solid_queue sidekiq].freeze

    class Timeout < StandardError; end

    # One worker process (its own process group, so a stop reaches its children: Solid Queue forks), in the dummy
    # app unless `chdir:` names another (spec/browser runs a real app's server and worker with it).
    class Worker
      attr_reader :name, :pid, :log_path

      def initialize(name, argv, env: {}, ready: nil, chdir: DUMMY_ROOT)
        @name = name
        @argv = argv
        @env = env
        @ready = ready
        @chdir = chdir
        @log_path = File.join(AgentSDKSpec.artifacts_dir, "#{name}-#{self.class.next_number}.log")
      end

      def self.next_number
        @number = (@number || 0) + 1
      end

      def start(timeout: 60)
        env = { "RAILS_ENV" => "test", "AGENT_SDK_JOB_PROCESS" => "1" }.merge(@env)
        @pid = Process.spawn(env, *@argv, chdir: @chdir, out: @log_path, err: %i[child out], in: File::NULL,
                                          pgroup: true)
        @watchdog = Cleanup.watchdog("kill -TERM -#{@pid}; sleep 5; kill -KILL -#{@pid}")
        Cleanup.register(cleanup_name) { stop }
        JobBackends.wait_for(timeout: timeout, what: "#{name} to boot", worker: self) do
          raise Timeout, "#{name} exited while booting:\n#{log_tail}" unless alive?

          @ready.nil? || @ready.call(self)
        end
        self
      rescue StandardError
        stop
        raise
      end

      def alive?
        return false unless @pid

        Process.waitpid(@pid, Process::WNOHANG).nil?
      rescue Errno::ECHILD
        false
      end

      # TERM to the whole group, KILL after `timeout` seconds; reaps it. Returns the exit status.
      def stop(timeout: 15)
        return unless @pid

        signal("TERM")
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        status = nil
        until (status = Process.waitpid2(@pid, Process::WNOHANG)&.last)
          if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
            warn "#{name} (pid #{@pid}) did not stop within #{timeout} s: killed"
            signal("KILL")
            status = Process.waitpid2(@pid).last
            break
          end
          sleep 0.05
        end
        signal("KILL") # children left behind by a parent that exited (none, normally)
        status
      rescue Errno::ECHILD
        nil
      ensure
        Cleanup.kill_watchdog(@watchdog) if @watchdog
        Cleanup.unregister(cleanup_name)
        @pid = nil
      end

      def log
        File.exist?(@log_path) ? File.read(@log_path) : ""
      end

      def log_tail(lines = 40)
        "--- #{@log_path} (last #{lines} lines)\n#{log.lines.last(lines).join}"
      end

      private

      def cleanup_name
        :"worker_#{object_id}"
      end

      def signal(name)
        Process.kill(name, -@pid)
        true
      rescue Errno::ESRCH, Errno::EPERM
        false
      end
    end

    class << self
      def solid_queue(env = {})
        Worker.new("solid_queue", [RbConfig.ruby, File.join(DUMMY_ROOT, "bin", "jobs")],
                   env: env.merge("AGENT_SDK_QUEUE_ADAPTER" => "solid_queue"),
                   ready: ->(worker) { solid_queue_ready?(worker.pid) })
      end

      def sidekiq(redis_url, env = {})
        Worker.new("sidekiq", [RbConfig.ruby, Gem.bin_path("sidekiq", "sidekiq"), "-e", "test", "-r", DUMMY_ROOT,
                               "-q", "default", "-q", "agents", "-c", "3", "-t", "5"],
                   env: env.merge("REDIS_URL" => redis_url, "AGENT_SDK_QUEUE_ADAPTER" => "sidekiq"),
                   ready: ->(worker) { sidekiq_ready?(worker.pid) })
      end

      # Polls until the block is truthy; on a timeout raises with the worker's log.
      def wait_for(timeout: 30, interval: 0.05, what: "the condition", worker: nil)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        loop do
          result = yield
          return result if result
          if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
            raise Timeout, ["timed out after #{timeout} s waiting for #{what}", worker&.log_tail].compact.join("\n")
          end

          sleep interval
        end
      end

      # The supervisor registered itself, a worker and a dispatcher (SolidQueue::Process rows in the queue database).
      def solid_queue_ready?(supervisor_pid)
        supervisor = ::SolidQueue::Process.where("kind LIKE 'Supervisor%'").find_by(pid: supervisor_pid)
        supervisor && (%w[Dispatcher Worker] - ::SolidQueue::Process.where(supervisor_id: supervisor.id).pluck(:kind)).empty?
      end

      # The process's first heartbeat is in Redis (Sidekiq::ProcessSet).
      def sidekiq_ready?(pid)
        require "sidekiq/api"
        ::Sidekiq::ProcessSet.new(false).any? { |process| process["pid"] == pid }
      end

      def start(backend, group, env = {})
        case backend
        when :solid_queue
          solid_queue(env).start
        when :sidekiq
          redis = group.redis_server
          url = redis.url
          ::Sidekiq.configure_client do |config|
            config.redis = { url: url }
            config.logger.level = ::Logger::WARN # not "connecting to Redis" on the spec's output
          end
          ::Sidekiq.redis { |connection| connection.call("FLUSHDB") }
          sidekiq(url, env).start
        else
          raise ArgumentError, "job_backend: #{backend.inspect} (one of #{BACKENDS.inspect})"
        end
      end
    end

    # What a `job_backend:` group gets (included once, in the outermost group with the tag).
    module Group
      def self.included(group)
        group.include(AgentSDKSpec::RealCommits)
        backend = group.metadata[:job_backend]

        # Started just before the group's first example, so after the group's own before(:context) hooks (a
        # FakeServer the worker's job_worker_env points at, say); stopped after its last.
        # A worker that did not boot fails the group's other examples at once, not after another boot timeout.
        worker = nil
        failed = nil
        group.before(:each) do
          raise failed if failed

          worker ||= begin
            AgentSDKSpec::DummyDatabase.truncate
            env = respond_to?(:job_worker_env) ? job_worker_env : {}
            AgentSDKSpec::JobBackends.start(backend, self, env)
          rescue AgentSDKSpec::JobBackends::Timeout => e
            failed = e
            raise
          end
          @job_worker = worker
        end
        group.after(:context) do
          worker&.stop
          worker = nil
          failed = nil
        end
        group.around(:each) do |example|
          adapter = ::ActiveJob::Base.queue_adapter
          ::ActiveJob::Base.queue_adapter = backend
          begin
            example.run
          ensure
            ::ActiveJob::Base.queue_adapter = adapter
          end
        end
        group.before(:each) { AgentSDKSpec::DummyDatabase.truncate }
        group.after(:each) { AgentSDKSpec::DummyDatabase.truncate }
      end

      attr_reader :job_worker

      # ENV for a worker process that sets these config.agent_sdk keys (JSON: symbols become strings; transport and
      # queue_name are made symbols again).
      def agent_config_env(**settings)
        { "AGENT_SDK_CONFIG_JSON" => JSON.generate(settings) }
      end

      def wait_for(timeout: 30, what: "the job", &block)
        AgentSDKSpec::JobBackends.wait_for(timeout: timeout, what: what, worker: job_worker, &block)
      end
    end
  end
end

RSpec.configure { |config| config.include AgentSDKSpec::JobBackends::Group, :job_backend } if defined?(RSpec)
