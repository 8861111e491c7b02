# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Serves Ruby Tool classes to the Claude Code CLI as an in-process ("sdk") MCP server: the CLI sends
    # JSON-RPC messages in `mcp_message` control requests, CLI#answer_mcp passes them to #handle and returns
    # the reply as `mcp_response`. The CLI calls the tools mcp__<name>__<tool_name>.
    #
    # What the CLI (2.1.x) sends, in order: initialize, notifications/initialized, tools/list — the whole
    # handshake twice, once while it starts and once when it connects for the session — then tools/call with
    # params {name, arguments, _meta: {"claudecode/toolUseId"}}, several at once when tools are read-only.
    # It does not check the arguments against inputSchema itself: the ToolRunner does. A notification must be
    # answered with a success (any body); an error answer marks the server "failed" and its tools disappear.
    #
    # The CLI has already run the hooks and permission rules for the call (the tools are in --allowedTools),
    # so the runner here only checks the input, repeats, Tool#permitted?, the timeout and the result size.
    class SdkMcpServer
      NAME = "agent_sdk"
      PROTOCOL_VERSION = "2025-06-18" # answered when the client names none

      attr_reader :name, :tools

      def initialize(tools, context: nil, default_timeout: nil, result_max_bytes: ToolRunner::DEFAULT_RESULT_MAX_BYTES,
                     name: NAME, logger: nil, executions: nil)
        @name = name.to_s
        @runner_options = { context: context, default_timeout: default_timeout, result_max_bytes: result_max_bytes,
                            logger: logger, executions: executions }
        @tools = ToolRunner.index(tools).values.freeze
        reset
      end

      # Other runner options (context:, executions:, default_timeout:, result_max_bytes:) for the runs from now on: a
      # pooled CLI's server gets its caller's (CLI#bind). Starts a new run.
      def bind(**runner_options)
        unknown = runner_options.keys - @runner_options.keys
        raise ArgumentError, "unknown runner options #{unknown.inspect}" unless unknown.empty?

        @runner_options = @runner_options.merge(runner_options)
        reset
      end

      # Starts a new run (a new prompt): calls made before no longer count as repeats.
      def reset
        @runner = ToolRunner.new(@tools, **@runner_options)
        self
      end

      # The entry of --mcp-config's "mcpServers".
      def mcp_config
        { "type" => "sdk", "name" => name }
      end

      # The names the CLI gives the tools (for --allowedTools).
      def cli_tool_names
        @tools.map { |tool| "mcp__#{name}__#{tool.tool_name}" }
      end

      # One JSON-RPC message (Hash) from the CLI → the reply Hash.
      def handle(message)
        message = {} unless message.is_a?(Hash)
        id = message["id"]
        params = message["params"].is_a?(Hash) ? message["params"] : {}
        case message["method"]
        when "initialize" then reply(id, initialize_result(params))
        when "tools/list" then reply(id, "tools" => @tools.map { |tool| list_entry(tool) })
        when "tools/call" then reply(id, call_tool(params))
        when "ping" then reply(id, {})
        else
          return { "jsonrpc" => "2.0", "result" => {} } unless message.key?("id") # a notification

          { "jsonrpc" => "2.0", "id" => id,
            "error" => { "code" => -32_601, "message" => "Method not found: #{message["method"]}" } }
        end
      end

      private

      def reply(id, result)
        { "jsonrpc" => "2.0", "id" => id, "result" => result }
      end

      def initialize_result(params)
        { "protocolVersion" => params["protocolVersion"] || PROTOCOL_VERSION,
          "capabilities" => { "tools" => {} },
          "serverInfo" => { "name" => name, "version" => VERSION } }
      end

      def list_entry(tool)
        { "name" => tool.tool_name, "description" => tool.description, "inputSchema" => tool.input_schema }.compact
      end

      def call_tool(params)
        meta = params["_meta"].is_a?(Hash) ? params["_meta"] : {}
        arguments = params.key?("arguments") ? params["arguments"] : {}
        result = @runner.run([{ id: meta["claudecode/toolUseId"], name: params["name"].to_s, input: arguments }]).first
        { "content" => [{ "type" => "text", "text" => result[:content] }], "isError" => result[:is_error] }
      end
    end
  end
end
