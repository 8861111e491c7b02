# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # App-wide defaults: `RubyLLM::AgentSDK.configure { |c| c.model = "claude-sonnet-4-5" }`, or in a Rails app
    # `config.agent_sdk.model = …` (the same object). Query options given to a call win over these.
    class Configuration
      # The query options a configuration supplies defaults for; `query_options` takes any other.
      QUERY_KEYS = %i[transport model max_turns max_budget_usd tools].freeze

      DEFAULTS = {
        transport: nil, model: nil, max_turns: nil, max_budget_usd: nil, tools: [].freeze, query_options: {}.freeze,
        queue_name: :agents, max_running_per_user: 5, max_running: 50, cap_retry_wait: 10,
        message_partial: "agent_sessions/message", status_partial: "agent_sessions/status",
        heartbeat_interval: 10, delta_interval: 0.1, job_attempts: 5, retry_wait_cap: 300, recovery_after: 300,
        max_recoveries: 2, executor: nil, logger: nil, default_pool: nil,
        # The operations dashboard (RubyLLM::AgentSDK::Dashboard::Engine): see README "Dashboard".
        dashboard_authorize: nil, dashboard_base_controller: "ActionController::Base",
        dashboard_session_class: "AgentSession", dashboard_per_page: 50, dashboard_days: 7,
        dashboard_p95_turns: 20, dashboard_p95_cost_usd: 1.0, dashboard_tool_error_rate: 0.05
      }.freeze

      attr_accessor(*DEFAULTS.keys)

      # Prewarmed CLI pools by name (see #pool).
      attr_reader :pools

      def initialize
        @pools = {}
        reset!
      end

      # Back to the defaults (for tests); the pools are shut down and forgotten.
      def reset!
        DEFAULTS.each { |key, value| public_send(:"#{key}=", value.dup) }
        @pools.each_value { |pool| remove_pool(pool) }
        @pools = {}
        self
      end

      # Defines (or redefines) a pool of prewarmed CLIs: `query(prompt, pool: name)`, `Client.new(pool: name)`, and the
      # Rails job when its options name it (or default_pool does). Nothing starts until the first use (see Pool).
      #
      #   config.agent_sdk.pool(:support, size: 2, model: "claude-sonnet-4-5", allowed_tools: %w[Read Grep])
      def pool(name, size: 2, max_idle: 600, max_rss_mb: nil, **options)
        name = name.to_sym
        replaced = @pools[name]
        @pools[name] = Pool.new(name, size: size, max_idle: max_idle, max_rss_mb: max_rss_mb, **options)
        remove_pool(replaced) if replaced
        @pools[name]
      end

      # The defaults this configuration gives RubyLLM::AgentSDK.query: the keys above that are set, then query_options.
      def query_defaults
        defaults = QUERY_KEYS.each_with_object({}) do |key, hash|
          value = public_send(key)
          hash[key] = value unless value.nil? || (key == :tools && value.empty?)
        end
        defaults.merge(query_options.to_h.transform_keys(&:to_sym))
      end

      # Runs a callback that runs outside the caller's thread (a tool's own thread) inside the executor when one is
      # set — the Rails executor, so it gets its own connection, query cache and reloading lock, and returns them.
      def wrap_callback(&block)
        executor ? executor.wrap(&block) : yield
      end

      def inspect
        "#<#{self.class.name} #{DEFAULTS.keys.map { |k| "#{k}=#{public_send(k).inspect}" }.join(' ')} " \
          "pools=#{@pools.keys.inspect}>"
      end

      private

      def remove_pool(pool)
        pool.shutdown
        Pool.unregister(pool)
      end
    end

    class << self
      # Where the gem's own lines go: config.logger, else Hooks.logger (Rails.logger in a Rails app).
      def logger
        config.logger || Hooks.logger
      end

      def config
        @config ||= Configuration.new
      end

      # RubyLLM::AgentSDK.configure { |config| config.max_budget_usd = 1.0 }
      def configure
        yield config
        config
      end
    end
  end
end
