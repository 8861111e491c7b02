# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    class CLI
      # The argv a CLI process is started with: each option mapped onto its Claude Code CLI flag.
      # The child gets this Array as its argv, never a shell line.
      module Arguments
        # The fixed part: bidirectional stream-json over stdin/stdout.
        STREAM_JSON = %w[--output-format stream-json --verbose --input-format stream-json].freeze

        module_function

        # options: an Options (transport :cli); mcp_server: the in-process SdkMcpServer of the Ruby tools, or nil.
        def build(options, mcp_server)
          o = options
          argv = [CLI.find(o.cli_path), *STREAM_JSON, "--system-prompt=#{o.system_prompt}"]
          argv << "--append-system-prompt=#{o.append_system_prompt}" if o.append_system_prompt
          allowed = o.allowed_tools + (mcp_server ? mcp_server.cli_tool_names : [])
          argv << "--allowedTools=#{allowed.join(",")}" unless allowed.empty?
          argv << "--mcp-config=#{JSON.generate("mcpServers" => { mcp_server.name => mcp_server.mcp_config })}" if mcp_server
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
          argv << "--settings=#{o.settings}" if o.settings
          argv << "--include-partial-messages" if o.include_partial_messages
          o.extra_args.each { |flag, value| argv << (value.nil? ? "--#{flag}" : "--#{flag}=#{value}") }
          argv
        end
      end
    end
  end
end
