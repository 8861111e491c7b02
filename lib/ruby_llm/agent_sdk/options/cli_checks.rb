# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    class Options
      # Validators of the options that map onto Claude Code CLI flags and initialize fields with a structure of
      # their own (agents:, mcp_servers:, sandbox:, plugins:, output_format:, …). Each returns the value as the CLI
      # takes it (String keys, the CLI's camelCase), frozen, or raises ArgumentError naming what is valid.
      module CLIChecks
        SETTING_SOURCES = %w[user project local].freeze
        EFFORTS = %i[low medium high xhigh max].freeze
        # Subagent definition keys (the official SDK's AgentDefinition) → the CLI's spelling.
        AGENT_KEYS = {
          description: "description", prompt: "prompt", tools: "tools", disallowed_tools: "disallowedTools",
          model: "model", skills: "skills", initial_prompt: "initialPrompt", max_turns: "maxTurns",
          background: "background", memory: "memory", effort: "effort", permission_mode: "permissionMode",
          mcp_servers: "mcpServers"
        }.freeze
        MCP_KEYS = {
          "stdio" => { type: "type", command: "command", args: "args", env: "env", timeout: "timeout",
                       always_load: "alwaysLoad" },
          "sse" => { type: "type", url: "url", headers: "headers", timeout: "timeout", always_load: "alwaysLoad" },
          "http" => { type: "type", url: "url", headers: "headers", timeout: "timeout", always_load: "alwaysLoad" }
        }.freeze
        SANDBOX_KEYS = %i[enabled fail_if_unavailable auto_allow_bash_if_sandboxed allow_unsandboxed_commands network
                          filesystem credentials ignore_violations enable_weaker_nested_sandbox
                          enable_weaker_network_isolation allow_apple_events excluded_commands ripgrep bwrap_path
                          socat_path].freeze

        # snake_case → camelCase; a key already in camelCase is kept.
        def self.camel(key)
          key.to_s.gsub(/_([a-z0-9])/) { Regexp.last_match(1).upcase }
        end

        # A Hash with String keys in the CLI's spelling, nested Hashes too (values round-trip through JSON).
        def self.camelize(value)
          case value
          when Hash then value.to_h { |k, v| [camel(k), camelize(v)] }
          when Array then value.map { |v| camelize(v) }
          when Symbol then value.to_s
          else value
          end
        end

        private

        # { "reviewer" => { description:, prompt:, tools: [...], model: "haiku", … } } → the initialize `agents`.
        def check_agents(name, value)
          invalid(name, value, "a Hash of agent name => {description:, prompt:, …}") unless value.is_a?(Hash) && !value.empty?
          value.to_h do |agent, spec|
            agent = agent.to_s
            invalid(name, value, "agent names as non-empty Strings or Symbols") if agent.empty?
            [agent, check_agent(name, agent, spec)]
          end.freeze
        end

        def check_agent(name, agent, spec)
          unless spec.is_a?(Hash)
            raise ArgumentError, "invalid value for #{name}: agent #{agent.inspect} must be a Hash with :description and :prompt"
          end

          spec = spec.transform_keys { |k| k.to_s.gsub(/([a-z])([A-Z])/, '\1_\2').downcase.to_sym }
          unknown = spec.keys - AGENT_KEYS.keys
          unless unknown.empty?
            raise ArgumentError, "invalid value for #{name}: agent #{agent.inspect} has unknown key(s) " \
                                 "#{unknown.map(&:inspect).join(", ")}; valid: #{AGENT_KEYS.keys.join(", ")}"
          end
          %i[description prompt].each do |key|
            next if spec[key].is_a?(String) && !spec[key].strip.empty?

            raise ArgumentError, "invalid value for #{name}: agent #{agent.inspect} needs #{key}: (a non-empty String)"
          end
          spec.to_h do |key, v|
            v = check_string_list(name, v) if %i[tools disallowed_tools skills].include?(key)
            v = PERMISSION_MODES.fetch(check_permission_mode(name, v)) if key == :permission_mode
            [AGENT_KEYS.fetch(key), CLIChecks.camelize(v)]
          end.freeze
        end

        # { type: "json_schema", schema: {...} } (the official SDK's form) or the JSON schema Hash itself → the schema.
        def check_output_format(name, value)
          value = JSON.parse(value) if value.is_a?(String)
          invalid(name, value, "a JSON schema Hash or {type: \"json_schema\", schema: Hash}") unless value.is_a?(Hash)
          wrapper = value.transform_keys(&:to_s)
          schema = wrapper["type"].to_s == "json_schema" ? wrapper["schema"] : value
          unless schema.is_a?(Hash) && !schema.empty?
            invalid(name, value, "a JSON schema Hash or {type: \"json_schema\", schema: Hash}")
          end
          JSON.parse(JSON.generate(schema)).freeze
        rescue JSON::ParserError
          invalid(name, value, "a JSON schema Hash or a JSON String")
        end

        def check_setting_sources(name, value)
          list = Array(value).map(&:to_s)
          bad = list - SETTING_SOURCES
          invalid(name, value, "an Array of #{SETTING_SOURCES.map(&:to_sym).map(&:inspect).join(", ")}") unless bad.empty?
          list.uniq.freeze
        end

        # The sandbox settings (the CLI's `sandbox` setting), passed inside --settings.
        def check_sandbox(name, value)
          invalid(name, value, "a Hash of sandbox settings (enabled:, network:, filesystem:, …)") unless value.is_a?(Hash)
          keys = value.keys.map { |k| k.to_s.gsub(/([a-z])([A-Z])/, '\1_\2').downcase.to_sym }
          unknown = keys - SANDBOX_KEYS
          unless unknown.empty?
            raise ArgumentError, "invalid value for #{name}: unknown key(s) #{unknown.map(&:inspect).join(", ")}; " \
                                 "valid: #{SANDBOX_KEYS.join(", ")}"
          end
          sandbox = CLIChecks.camelize(value)
          # As the official SDK: a sandbox asked for must be there, unless the caller says otherwise.
          sandbox["failIfUnavailable"] = true if sandbox["enabled"] == true && !sandbox.key?("failIfUnavailable")
          JSON.parse(JSON.generate(sandbox)).freeze
        end

        # Local plugins: a directory (or .zip) path, or {type: "local", path:, skip_mcp_discovery: true}.
        def check_plugins(name, value)
          Array(value).map do |plugin|
            plugin = { path: plugin } if plugin.is_a?(String) || plugin.is_a?(Pathname)
            invalid(name, value, "an Array of plugin paths or {type: \"local\", path:}") unless plugin.is_a?(Hash)
            plugin = plugin.transform_keys(&:to_sym)
            unknown = plugin.keys - %i[type path skip_mcp_discovery]
            invalid(name, value, "plugins with keys type, path, skip_mcp_discovery") unless unknown.empty?
            invalid(name, value, "plugins of type \"local\" (the only type the CLI loads)") unless plugin.fetch(:type, "local").to_s == "local"
            path = plugin[:path].to_s
            invalid(name, value, "existing plugin directories or .zip files") unless File.directory?(path) || File.file?(path)
            { "path" => File.expand_path(path), "skipMcpDiscovery" => plugin[:skip_mcp_discovery] == true }.freeze
          end.freeze
        end

        # External MCP servers, by name: stdio ({command:, args:, env:}), sse or http ({type:, url:, headers:}).
        def check_mcp_servers(name, value)
          invalid(name, value, "a Hash of server name => {command:, args:} or {type: \"http\"/\"sse\", url:}") unless value.is_a?(Hash)
          value.to_h do |server, config|
            server = server.to_s
            unless server.match?(/\A[A-Za-z0-9_-]+\z/)
              raise ArgumentError, "invalid value for #{name}: server name #{server.inspect} (letters, digits, _ and -)"
            end
            if server == SdkMcpServer::NAME
              raise ArgumentError, "invalid value for #{name}: #{server.inspect} is the name of the Ruby tools' server (tools:)"
            end

            [server, check_mcp_server(name, server, config)]
          end.freeze
        end

        def check_mcp_server(name, server, config)
          config = config.is_a?(Hash) ? config.transform_keys(&:to_sym) : {}
          type = (config[:type] || "stdio").to_s
          keys = MCP_KEYS.fetch(type) do
            raise ArgumentError, "invalid value for #{name}: server #{server.inspect} has type #{type.inspect} " \
                                 "(valid: #{MCP_KEYS.keys.join(", ")}; Ruby tools go in tools:)"
          end
          unknown = config.keys - keys.keys
          unless unknown.empty?
            raise ArgumentError, "invalid value for #{name}: server #{server.inspect} (#{type}) has unknown key(s) " \
                                 "#{unknown.map(&:inspect).join(", ")}; valid: #{keys.keys.join(", ")}"
          end
          required = type == "stdio" ? :command : :url
          unless config[required].is_a?(String) && !config[required].empty?
            raise ArgumentError, "invalid value for #{name}: server #{server.inspect} (#{type}) needs #{required}: (a String)"
          end
          if config.key?(:args) && !(config[:args].is_a?(Array) && config[:args].all? { |a| a.is_a?(String) })
            raise ArgumentError, "invalid value for #{name}: server #{server.inspect} args: must be an Array of Strings"
          end
          %i[env headers].each do |key|
            next if !config.key?(key) || (config[key].is_a?(Hash) && config[key].values.all? { |v| v.is_a?(String) })

            raise ArgumentError, "invalid value for #{name}: server #{server.inspect} #{key}: must be a Hash of String => String"
          end
          config.to_h { |k, v| [keys.fetch(k), k == :env || k == :headers ? v.transform_keys(&:to_s) : v] }
                .merge("type" => type).freeze
        end

        def check_effort(name, value)
          sym = value.respond_to?(:to_sym) ? value.to_sym : value
          EFFORTS.include?(sym) ? sym : invalid(name, value, "one of #{EFFORTS.map(&:inspect).join(", ")}")
        end

        # The CLI's built-in tools: :default (all of them), [] (none) or their names ("Bash", "Read", …).
        def check_cli_tools(name, value)
          return :default if value.to_s == "default"

          check_string_list(name, value)
        end
      end
    end
  end
end
