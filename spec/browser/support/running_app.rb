# frozen_string_literal: true

require "json"
require "open3"
require "net/http"
require "shellwords"
require_relative "../../rails_app/live_app"
require_relative "../../support/job_backends"

module AgentSDKSpec
  # The browser specs' app, running: a LiveApp (a `rails new` app with the generators) served by `bin/rails server`
  # (Puma) on a free 127.0.0.1 port, its jobs run by `bundle exec sidekiq` in another process, broadcasts and jobs
  # through the Redis of AgentSDKSpec::Servers, the model the FakeServer of this process. Started once per rspec
  # process on first use, stopped at exit (Cleanup; watchdogs when the process dies first). Logs go to
  # tmp/artifacts/<run>/ (puma-1.log, sidekiq-1.log, console-1.log).
  #
  #   app = AgentSDKSpec::RunningApp.instance
  #   app.url("/agent_sessions/1")
  #   app.model.script([{ text: "Hello", delay: 0.5 }])
  #   app.console("AgentSession.count")   # Ruby evaluated in a long-lived `bin/rails runner` of the app: its JSON value
  class RunningApp
    class << self
      def instance
        @instance ||= new.start
      end

      # How long its parts took to start (printed at the end of the run).
      def report
        return unless @instance

        RSpec.configuration.reporter.message(
          "browser app: #{@instance.timings.map { |part, seconds| format('%s %.1fs', part, seconds) }.join(', ')}"
        )
      end
    end

    attr_reader :model, :port, :live_app, :timings

    def initialize
      @timings = {}
    end

    def start
      @model = RubyLLM::AgentSDK::Testing::FakeServer.new.start
      Cleanup.register(:fake_model) { @model.stop }
      redis = Servers.redis
      @live_app = time("rails app (generators, db:prepare)") { LiveApp.new(RailsApp.new).prepare }
      @port = AgentSDKSpec.free_port
      env = live_app.env.merge("RAILS_ENV" => "development", "REDIS_URL" => redis.url(1),
                               "AGENT_SDK_BASE_URL" => model.base_url, "ANTHROPIC_API_KEY" => "sk-ant-offline-browser-specs")
      @redis_url = redis.url(1)
      Bundler.with_unbundled_env do
        @server = time("puma boot") { server(env).start(timeout: 120) }
        @worker = time("sidekiq boot") { worker(env).start(timeout: 120) }
        @console = time("console boot") { Console.new(live_app.dir, env).start }
      end
      self
    end

    def url(path = "/")
      "http://127.0.0.1:#{port}#{path}"
    end

    def console(code)
      @console.evaluate(code)
    end

    def logs
      [@server, @worker].compact.map(&:log_tail).join("\n") + @console.log_tail
    end

    private

    def server(env)
      JobBackends::Worker.new("puma", ["bin/rails", "server", "-b", "127.0.0.1", "-p", port.to_s], env: env,
                                                                                                 chdir: live_app.dir,
                                                                                                 ready: ->(_) { up? })
    end

    def worker(env)
      JobBackends::Worker.new("sidekiq", %w[bundle exec sidekiq -q agents -q default -c 2 -t 5], env: env,
                                                                                               chdir: live_app.dir,
                                                                                               ready: ->(w) { sidekiq_ready?(w.pid) })
    end

    # The worker's first heartbeat is in Redis.
    def sidekiq_ready?(pid)
      unless @sidekiq_client
        require "sidekiq/api"
        url = @redis_url
        ::Sidekiq.configure_client do |config|
          config.redis = { url: url }
          config.logger.level = ::Logger::WARN
        end
        @sidekiq_client = true
      end
      JobBackends.sidekiq_ready?(pid)
    end

    # Rails' health check (/up) answers 200.
    def up?
      Net::HTTP.start("127.0.0.1", port, open_timeout: 1, read_timeout: 30) { |http| http.get("/up").code == "200" }
    rescue SystemCallError, IOError, Net::OpenTimeout, Net::ReadTimeout
      false
    end

    def time(name)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      yield
    ensure
      @timings[name] = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    end

    # A long-lived `bin/rails runner` of the app that evaluates one line of Ruby at a time and answers its value as
    # JSON: what the specs set up (a user's session) and check (its status) in the app, without booting it each time.
    class Console
      LOOP = <<~RUBY
        $stdout.sync = true
        puts "agent-sdk-console ready"
        $stdin.each_line do |line|
          answer = begin
            # Uncached: `bin/rails runner` runs in the executor, whose query cache would answer a poll with its first read.
            { "value" => ActiveRecord::Base.uncached { eval(JSON.parse(line)) } } # rubocop:disable Security/Eval -- the spec's own code, over a pipe
          rescue Exception => e # rubocop:disable Lint/RescueException -- reported to the spec, the loop goes on
            { "error" => "\#{e.class}: \#{e.message}" }
          end
          puts "agent-sdk-console: \#{JSON.generate(answer)}"
        end
      RUBY

      # What starts an answer's line (other lines on its stdout are what the app logs there).
      PREFIX = "agent-sdk-console: "

      class Error < StandardError; end

      def initialize(dir, env)
        @dir = dir
        @env = env
        @log_path = File.join(AgentSDKSpec.artifacts_dir, "console-#{Process.pid}.log")
        @lock = Mutex.new
      end

      def start
        @in, @out, @wait = Open3.popen2(@env, "bin/rails", "runner", LOOP, chdir: @dir, err: [@log_path, "w"],
                                                                          pgroup: true)
        pid = @wait.pid
        @watchdog = Cleanup.watchdog("kill -KILL -#{pid}")
        Cleanup.register(:app_console) { stop }
        line = @out.gets
        raise Error, "the app's console did not start:\n#{log_tail}" unless line&.include?("ready")

        self
      end

      def evaluate(code)
        @lock.synchronize do
          @in.puts(JSON.generate(code))
          answer = nil
          until answer
            line = @out.gets or raise Error, "the app's console exited:\n#{log_tail}"
            answer = JSON.parse(line.delete_prefix(PREFIX)) if line.start_with?(PREFIX)
          end
          raise Error, "#{code}: #{answer['error']}" if answer.key?("error")

          answer["value"]
        end
      end

      def stop
        return unless @wait

        @in.close
        @wait.join(10) || Process.kill("KILL", -@wait.pid)
        Cleanup.kill_watchdog(@watchdog)
        @wait = nil
      rescue Errno::ESRCH, IOError
        nil
      end

      def log_tail
        text = File.exist?(@log_path) ? File.read(@log_path) : ""
        "\n--- #{@log_path}\n#{text.lines.last(40).join}"
      end
    end
  end
end

RSpec.configure { |config| config.after(:suite) { AgentSDKSpec::RunningApp.report } } if defined?(RSpec)
