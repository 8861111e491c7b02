# frozen_string_literal: true

require "json"
require "tmpdir"
require "fileutils"

module RubyLLM
  module AgentSDK
    class CLI
      # The argv a CLI process is started with: each option mapped onto its Claude Code CLI flag.
      # The child gets this Array as its argv, never a shell line.
      module Arguments
        # The fixed part: bidirectional stream-json over stdin/stdout.
        STREAM_JSON = %w[--output-format stream-json --verbose --input-format stream-json].freeze

        # Flags whose JSON may carry credentials (an MCP server's env and headers, settings' env): the CLI gets them as
        # a file only this user can read, because any local user can read a process's argv (/proc/<pid>/cmdline).
        PRIVATE_JSON_FLAGS = %w[--mcp-config --settings].freeze

        # The files those flags name: in a 0700 directory of their own, each 0600, removed when the CLI is closed.
        class PrivateFiles
          def write(json)
            @dir ||= Dir.mktmpdir("agent_sdk_cli")
            path = File.join(@dir, "config-#{Dir.children(@dir).size + 1}.json")
            File.open(path, File::WRONLY | File::CREAT | File::EXCL, 0o600) { |file| file.write(json) }
            path
          end

          def remove
            FileUtils.remove_entry(@dir, true) if @dir
            @dir = nil
          end
        end

        module_function

        # argv with the JSON values of PRIVATE_JSON_FLAGS written to files (a settings file path stays as it is).
        def with_private_json(argv, files)
          argv.map do |arg|
            flag, value = arg.split("=", 2)
            PRIVATE_JSON_FLAGS.include?(flag) && value&.start_with?("{") ? "#{flag}=#{files.write(value)}" : arg
          end
        end

        # options: an Options (transport :cli); mcp_server: the in-process SdkMcpServer of the Ruby tools, or nil.
        def build(options, mcp_server)
          o = options
          argv = [CLI.find(o.cli_path), *STREAM_JSON, "--system-prompt=#{o.system_prompt}"]
          argv << "--append-system-prompt=#{o.append_system_prompt}" if o.append_system_prompt
          allowed = o.allowed_tools + (mcp_server ? mcp_server.cli_tool_names : [])
          argv << "--allowedTools=#{allowed.join(",")}" unless allowed.empty?
          servers = mcp_servers(o, mcp_server)
          argv << "--mcp-config=#{JSON.generate("mcpServers" => servers)}" unless servers.empty?
          argv << "--disallowedTools=#{o.disallowed_tools.join(",")}" unless o.disallowed_tools.empty?
          argv << "--max-turns=#{o.max_turns}" if o.max_turns
          argv << "--max-budget-usd=#{o.max_budget_usd.to_f}" if o.max_budget_usd
          argv << "--model=#{o.model}" if o.model
          argv << "--fallback-model=#{o.fallback_model}" if o.fallback_model
          argv << "--permission-mode=#{o.cli_permission_mode}" if o.permission_mode
          argv.push("--permission-prompt-tool", "stdio") if o.can_use_tool
          argv << "--resume=#{o.resume}" if o.resume
          argv << "--session-id=#{o.session_id}" if o.session_id
          argv << "--fork-session" if o.fork_session
          argv << "--continue" if o.continue_conversation
          o.add_dirs.each { |dir| argv << "--add-dir=#{dir}" }
          settings = settings(o)
          argv << "--settings=#{settings}" if settings
          argv << "--include-partial-messages" if o.include_partial_messages
          argv.concat(parity_flags(o))
          o.extra_args.each { |flag, value| argv << (value.nil? ? "--#{flag}" : "--#{flag}=#{value}") }
          argv
        end

        # The flags of the options the official Agent SDK has too (its names, the same CLI flags it passes).
        def parity_flags(options)
          o = options
          argv = []
          argv << "--json-schema=#{JSON.generate(o.output_format)}" if o.output_format
          argv << "--setting-sources=#{o.setting_sources.join(",")}" if o.setting_sources
          o.plugins.each { |plugin| argv << "--plugin-dir#{"-no-mcp" if plugin["skipMcpDiscovery"]}=#{plugin["path"]}" }
          if o.max_thinking_tokens
            argv << (o.max_thinking_tokens.zero? ? "--thinking=disabled" : "--max-thinking-tokens=#{o.max_thinking_tokens}")
          end
          argv << "--effort=#{o.effort}" if o.effort
          argv << "--betas=#{o.betas.join(",")}" unless o.betas.empty?
          argv << "--tools=#{o.cli_tools == :default ? "default" : o.cli_tools.join(",")}" if o.cli_tools
          # The prompt's user message comes back with its uuid: the id Client#rewind_files takes.
          argv << "--replay-user-messages" if o.enable_file_checkpointing
          argv
        end

        # External servers (mcp_servers:) and the Ruby tools' in-process server, in one --mcp-config.
        def mcp_servers(options, mcp_server)
          servers = options.mcp_servers.dup
          servers[mcp_server.name] = mcp_server.mcp_config if mcp_server
          servers
        end

        # settings: with sandbox: merged in (the CLI reads the sandbox from its settings).
        def settings(options)
          return options.settings unless options.sandbox

          inline = options.settings ? JSON.parse(options.settings) : {}
          JSON.generate(inline.merge("sandbox" => options.sandbox))
        end

        # What the initialize control request carries besides hooks: the subagent definitions (agents:).
        def initialize_fields(options)
          options.agents ? { "agents" => options.agents } : {}
        end

        # Environment the options add to the CLI's (enable_file_checkpointing: turns on the SDK file history).
        def env(options)
          options.enable_file_checkpointing ? { "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING" => "true" } : {}
        end
      end
    end
  end
end
