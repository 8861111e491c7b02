# frozen_string_literal: true

require "json"
require "pathname"
require_relative "options/cli_checks"

module RubyLLM
  module AgentSDK
    # Validated options of one query or client. Unknown keys and bad values raise ArgumentError naming what is valid.
    class Options
      include CLIChecks

      PERMISSION_MODES = {
        default: "default", accept_edits: "acceptEdits", plan: "plan",
        bypass_permissions: "bypassPermissions", dont_ask: "dontAsk", auto: "auto"
      }.freeze
      TRANSPORTS = %i[cli api].freeze
      PROVIDERS = %i[anthropic openai].freeze
      DEFAULT_MAX_BUFFER_SIZE = 32 * 1024 * 1024

      # name => validator (returns the normalised value or raises through #invalid)
      SCHEMA = {
        transport: :transport, cli_path: :string, model: :string, fallback_model: :string, cwd: :directory,
        system_prompt: :string, append_system_prompt: :string,
        allowed_tools: :string_list, disallowed_tools: :string_list,
        permission_mode: :permission_mode, max_turns: :positive_integer, max_budget_usd: :positive_number,
        resume: :string, session_id: :string, fork_session: :boolean, continue_conversation: :boolean,
        add_dirs: :directory_list, env: :env, settings: :settings, include_partial_messages: :boolean,
        extra_args: :extra_args, max_buffer_size: :positive_integer, stderr: :callable,
        hooks: :hooks, can_use_tool: :callable, strict_parsing: :boolean,
        control_timeout: :positive_number, close_timeout: :positive_number, timeout: :positive_number,
        tools: :tools, context: :anything, tool_timeout: :positive_number, tool_result_max_bytes: :positive_integer,
        tool_executions: :tool_executions,
        api_key: :secret, base_url: :url, provider: :provider, max_tokens: :positive_integer,
        max_output_tokens: :positive_integer, max_retries: :non_negative_integer, prompt_caching: :boolean,
        session_store: :session_store, connect_timeout: :positive_number, idle_timeout: :positive_number,
        request_timeout: :positive_number, ca_file: :file, dedup_tool_calls: :boolean, parallel_tool_calls: :boolean,
        agents: :agents, output_format: :output_format, setting_sources: :setting_sources, sandbox: :sandbox,
        plugins: :plugins, mcp_servers: :mcp_servers, max_thinking_tokens: :non_negative_integer, effort: :effort,
        betas: :string_list, cli_tools: :cli_tools, enable_file_checkpointing: :boolean
      }.freeze

      # Options that only one transport understands: passing one to the other is an error, not a silent no-op.
      CLI_ONLY = %i[cli_path fallback_model append_system_prompt allowed_tools disallowed_tools permission_mode
                    fork_session continue_conversation add_dirs env settings extra_args max_buffer_size stderr
                    control_timeout close_timeout agents output_format setting_sources sandbox plugins mcp_servers
                    max_thinking_tokens effort betas cli_tools enable_file_checkpointing].freeze
      API_ONLY = %i[api_key base_url provider max_tokens max_output_tokens max_retries prompt_caching session_store
                    connect_timeout idle_timeout request_timeout ca_file dedup_tool_calls parallel_tool_calls].freeze

      DEFAULTS = { transport: nil, max_buffer_size: DEFAULT_MAX_BUFFER_SIZE, strict_parsing: false,
                   control_timeout: 60.0, close_timeout: 10.0, fork_session: false, continue_conversation: false,
                   include_partial_messages: false, allowed_tools: [].freeze, disallowed_tools: [].freeze,
                   add_dirs: [].freeze, env: {}.freeze, extra_args: {}.freeze, hooks: {}.freeze, tools: [].freeze,
                   betas: [].freeze, plugins: [].freeze, mcp_servers: {}.freeze, enable_file_checkpointing: false,
                   tool_result_max_bytes: ToolRunner::DEFAULT_RESULT_MAX_BYTES,
                   provider: :anthropic, max_output_tokens: 4096, max_retries: 2, prompt_caching: true,
                   connect_timeout: 10.0, idle_timeout: 120.0, request_timeout: 600.0, dedup_tool_calls: true,
                   parallel_tool_calls: true }.freeze

      SCHEMA.each_key { |name| define_method(name) { @values[name] } }

      def initialize(**options)
        unknown = options.keys - SCHEMA.keys
        unless unknown.empty?
          raise ArgumentError, "unknown option#{"s" if unknown.size > 1} #{unknown.map(&:inspect).join(", ")}; " \
                               "valid options: #{SCHEMA.keys.join(", ")}"
        end

        @values = DEFAULTS.dup
        options.each do |name, value|
          @values[name] = value.nil? ? DEFAULTS[name] : send(:"check_#{SCHEMA[name]}", name, value)
        end
        @values[:transport] ||= infer_transport(options)
        check_transport_options(options)
        @values.freeze
        freeze
      end

      # Options over the app's defaults (RubyLLM::AgentSDK.configure / config.agent_sdk): what query, query_all and
      # Client use. Given options win; Options.new alone applies no configuration.
      def self.build(**options)
        new(**AgentSDK.config.query_defaults.merge(options))
      end

      def to_h = @values.dup

      # A copy with some values replaced, each validated as by new.
      def with(**overrides)
        unknown = overrides.keys - SCHEMA.keys
        raise ArgumentError, "unknown options #{unknown.inspect}" unless unknown.empty?

        values = @values.merge(overrides.to_h { |k, v| [k, v.nil? ? DEFAULTS[k] : send(:"check_#{SCHEMA[k]}", k, v)] })
        copy = self.class.allocate
        copy.instance_variable_set(:@values, values.freeze)
        copy.send(:check_transport_options, overrides)
        copy.freeze
      end

      # Secrets never shown: api_key, env: values, inline settings:, base_url credentials, key-shaped text (Redaction).
      def inspect
        shown = @values.map { |k, v| "#{k}=#{Redaction.option(k, v)}" }
        "#<#{self.class.name} #{shown.join(" ")}>"
      end
      alias to_s inspect

      # The API key for transport :api: the option, else ANTHROPIC_API_KEY (OPENAI_API_KEY for provider :openai).
      def resolved_api_key
        api_key || ENV.fetch(provider == :openai ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY", nil)
      end

      # The base URL for transport :api: the option, else ANTHROPIC_BASE_URL / OPENAI_BASE_URL, else the public API.
      def resolved_base_url
        base_url || ENV.fetch(provider == :openai ? "OPENAI_BASE_URL" : "ANTHROPIC_BASE_URL", nil) ||
          (provider == :openai ? "https://api.openai.com" : "https://api.anthropic.com")
      end

      # CLI spelling of the permission mode, or nil.
      def cli_permission_mode
        permission_mode && PERMISSION_MODES.fetch(permission_mode)
      end

      private

      # Explicit transport, else what the other options say, else :cli — unless the claude CLI is not installed and
      # an API key is in the environment, then :api.
      def infer_transport(given)
        return :api if given.keys.intersect?(API_ONLY)
        return :cli if given.keys.intersect?(CLI_ONLY)
        return :cli if ENV.fetch("ANTHROPIC_API_KEY", "").empty?

        CLI.find
        :cli
      rescue CLINotFoundError
        :api
      end

      def check_transport_options(given)
        check_sandbox_settings
        wrong = given.keys & (@values[:transport] == :api ? CLI_ONLY : API_ONLY)
        return if wrong.empty?

        raise ArgumentError, "#{wrong.map(&:inspect).join(", ")} #{wrong.size > 1 ? "are" : "is"} not valid with " \
                             "transport: #{@values[:transport].inspect}"
      end

      # sandbox: goes into the --settings JSON, which a settings file path cannot take.
      def check_sandbox_settings
        settings = @values[:settings]
        return unless @values[:sandbox] && settings && !settings.lstrip.start_with?("{")

        raise ArgumentError, "sandbox: cannot be combined with a settings file path (settings: #{settings.inspect}); " \
                             "put the sandbox in that file, or pass settings: as a Hash"
      end

      def invalid(name, value, expected)
        raise ArgumentError, "invalid value for #{name}: #{Redaction.option(name, value)} (expected #{expected})"
      end

      def check_transport(name, value)
        sym = value.respond_to?(:to_sym) ? value.to_sym : value
        TRANSPORTS.include?(sym) ? sym : invalid(name, value, "one of #{TRANSPORTS.map(&:inspect).join(", ")}")
      end

      # Never echoed back in an error: it may be a real key in the wrong place.
      def check_secret(name, value)
        value.is_a?(String) && !value.empty? ? value : raise(ArgumentError, "invalid value for #{name} (expected a non-empty String)")
      end

      def check_url(name, value)
        url = check_string(name, value).chomp("/")
        url.match?(%r{\Ahttps?://[^/\s]+(/\S*)?\z}) ? url : invalid(name, value, "an http(s) URL")
      end

      def check_provider(name, value)
        sym = value.respond_to?(:to_sym) ? value.to_sym : value
        PROVIDERS.include?(sym) ? sym : invalid(name, value, "one of #{PROVIDERS.map(&:inspect).join(", ")}")
      end

      def check_non_negative_integer(name, value)
        value.is_a?(Integer) && value >= 0 ? value : invalid(name, value, "an Integer >= 0")
      end

      def check_file(name, value)
        path = check_string(name, value)
        File.file?(path) ? path : invalid(name, value, "an existing file")
      end

      def check_session_store(name, value)
        case value
        when :memory then SessionStore::Memory.new
        when String, Pathname then SessionStore::JSONL.new(value.to_s)
        else
          value.respond_to?(:append) && value.respond_to?(:lines) ? value : invalid(name, value, "a store (#append, #lines), a directory or :memory")
        end
      end

      def check_tool_executions(name, value)
        case value
        when :memory then ToolExecutions::Memory.new
        else
          value.respond_to?(:begin) && value.respond_to?(:finish) ? value : invalid(name, value, "a store (#begin, #finish) or :memory")
        end
      end

      def check_string(name, value)
        value = value.to_s if value.is_a?(Symbol) || value.is_a?(Pathname)
        value.is_a?(String) ? value : invalid(name, value, "a String")
      end

      def check_directory(name, value)
        path = check_string(name, value)
        File.directory?(path) ? path : invalid(name, value, "an existing directory")
      end

      def check_directory_list(name, value)
        list = Array(value)
        list.map { |dir| check_directory(name, dir) }.freeze
      end

      def check_string_list(name, value)
        list = value.is_a?(String) ? value.split(",").map(&:strip) : value
        unless list.is_a?(Array) && list.all? { |v| v.is_a?(String) || v.is_a?(Symbol) }
          invalid(name, value, "an Array of tool names")
        end
        list.map(&:to_s).reject(&:empty?).freeze
      end

      def check_permission_mode(name, value)
        sym = value.is_a?(String) ? (PERMISSION_MODES.key(value) || value.to_sym) : value
        return sym if PERMISSION_MODES.key?(sym)

        invalid(name, value, "one of #{PERMISSION_MODES.keys.map(&:inspect).join(", ")}")
      end

      def check_positive_integer(name, value)
        value.is_a?(Integer) && value.positive? ? value : invalid(name, value, "a positive Integer")
      end

      # Timeouts and budgets: NaN and infinity are refused (they reach C as casts, where neither means anything).
      def check_positive_number(name, value)
        finite = value.is_a?(Numeric) && value.real? && value.finite?
        finite && value.positive? ? value : invalid(name, value, "a finite positive number")
      end

      def check_boolean(name, value)
        [true, false].include?(value) ? value : invalid(name, value, "true or false")
      end

      def check_env(name, value)
        unless value.is_a?(Hash) && value.all? { |k, v| (k.is_a?(String) || k.is_a?(Symbol)) && (v.nil? || v.is_a?(String)) }
          invalid(name, value, "a Hash of String => String (nil to unset)")
        end
        value.to_h { |k, v| [k.to_s, v] }.freeze
      end

      def check_settings(name, value)
        case value
        when Hash then JSON.generate(value)
        when String then value
        else invalid(name, value, "a Hash or a JSON String or a settings file path")
        end
      end

      def check_extra_args(name, value)
        unless value.is_a?(Hash) && value.all? { |k, v| k.to_s.match?(/\A[a-z][a-z0-9-]*\z/) && (v.nil? || v.is_a?(String) || v.is_a?(Numeric)) }
          invalid(name, value, "a Hash of flag name (without --) => String, Numeric or nil")
        end
        value.to_h { |k, v| [k.to_s, v&.to_s] }.freeze
      end

      def check_callable(name, value)
        value.respond_to?(:call) ? value : invalid(name, value, "something that responds to #call")
      end

      def check_anything(_name, value)
        value
      end

      # Tool subclasses with distinct tool names.
      def check_tools(name, value)
        list = Array(value)
        unless list.all? { |tool| tool.is_a?(Class) && tool < Tool }
          invalid(name, value, "an Array of RubyLLM::AgentSDK::Tool subclasses")
        end
        ToolRunner.index(list).values.freeze
      end

      def check_hooks(name, value)
        invalid(name, value, "a Hash of event => [{matcher:, handler:}]") unless value.is_a?(Hash)
        Hooks.config(value)
      end
    end
  end
end
