# frozen_string_literal: true

require "json"
require "io/wait"
require "securerandom"
require_relative "cli/arguments"

module RubyLLM
  module AgentSDK
    # Drives one Claude Code CLI process over its bidirectional stream-json control protocol.
    #
    # Raw stdout lines pass through a bounded C framer; control requests from the CLI (hooks, permission
    # checks, SDK MCP calls) are answered here, in the reading thread; everything else is yielded as a raw line.
    class CLI
      ENTRYPOINT = "sdk-rb"
      READ_CHUNK = 64 * 1024
      # Environment variables whose values are redacted from the CLI's stderr (errors, on_stderr:).
      SECRET_ENV = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i.freeze

      class << self
        # The path of the `claude` executable: cli_path, then `agent-sdk install-cli`'s, PATH, the project-local npm
        # install, common places. Warns once per path when its version is outside CLIInstall::TESTED_VERSIONS.
        def find(cli_path = nil)
          if cli_path
            return CLIInstall.check(cli_path, run: false) if executable?(cli_path)

            raise CLINotFoundError, "Claude Code CLI not found at #{cli_path} (cli_path:). " + CLINotFoundError.new.message
          end
          CLIInstall.check(candidates.find { |path| executable?(path) } || raise(CLINotFoundError))
        end

        def candidates
          home = Dir.home rescue nil # rubocop:disable Style/RescueModifier -- HOME may be unset in daemons
          path_dirs = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR)
          [
            *CLIInstall.executable,
            *path_dirs.map { |dir| File.join(dir, "claude") },
            File.join(Dir.pwd, "node_modules/.bin/claude"),
            File.expand_path("../../../vendor/cli/node_modules/.bin/claude", __dir__),
            *(home ? %w[.npm-global/bin/claude .local/bin/claude node_modules/.bin/claude .yarn/bin/claude
                        .claude/local/claude].map { |rel| File.join(home, rel) } : []),
            "/usr/local/bin/claude", "/usr/bin/claude"
          ]
        end

        def executable?(path)
          File.file?(path) && File.executable?(path)
        end

        def finalizer(cli)
          proc { cli.abandon }
        end
      end

      attr_reader :options, :server_info

      def initialize(options)
        @options = options
        @write_mutex = Mutex.new
        @request_counter = 0
        @hook_callbacks = {}
        @queue = []    # framed items not yet routed
        @deferred = [] # data lines read while waiting for a control response
        @eof = false
        @mcp_server = build_mcp_server(options)
      end

      # Single-shot: start the CLI, send the prompt, yield each raw line up to and including the result, stop it.
      def stream(prompt, &block)
        connect
        send_prompt(prompt)
        each_line(&block)
      ensure
        close
      end

      def connected? = !@child.nil?

      def connect
        return self if @child

        @reader = Native::LineReader.new(options.max_buffer_size)
        @child = ChildProcess.new(build_argv, env: child_env, chdir: options.cwd, on_stderr: options.stderr,
                                  redact: secrets)
        @server_info = control_request({ "subtype" => "initialize", "hooks" => hooks_config }
                                         .merge(Arguments.initialize_fields(options)), timeout: options.control_timeout)
        self
      rescue StandardError
        close
        raise
      end

      def send_prompt(prompt)
        @mcp_server&.reset # one prompt, one run: repeated tool calls are counted per run
        write_json("type" => "user", "session_id" => "", "parent_tool_use_id" => nil,
                   "message" => { "role" => "user", "content" => prompt })
      end

      # Yields raw lines (or error Messages from the framer) until a result line, which is yielded last. A CLI that
      # ends before its result, whatever its exit status, raises ProcessError (after the lines it did send).
      def each_line
        loop do
          item = next_data_item
          raise_for_exit("without a result") if item == :eof

          yield item
          return if item.is_a?(String) && Native.peek_type(item) == "result"
        end
      end

      # Asks the CLI to stop the current turn. Safe from another thread; does not wait for the answer.
      def interrupt
        send_control("subtype" => "interrupt")
      end

      def set_permission_mode(mode)
        send_control("subtype" => "set_permission_mode", "mode" => Options.new(permission_mode: mode).cli_permission_mode)
      end

      def set_model(model)
        send_control("subtype" => "set_model", "model" => model)
      end

      # Close stdin → TERM → KILL, and reap (in a forked copy of this process: only drop the copies of the pipes).
      def close
        child = @child
        return unless child

        status = child.stop(grace: options.close_timeout)
        @exit_status = status
      end

      # For finalizers: stop without waiting.
      def abandon
        @child&.stop_async
      end

      def pid = @child&.pid

      # True while the process runs and its output is open (a prewarmed CLI that crashed while idle is not).
      def alive? = !@child.nil? && @child.owned? && !@child.exited? && !@eof

      # The argv this CLI is started with (CLI::Arguments).
      def build_argv
        Arguments.build(options, @mcp_server)
      end

      private

      def build_mcp_server(options)
        return nil if options.tools.empty?

        SdkMcpServer.new(options.tools, context: options.context, default_timeout: options.tool_timeout,
                                        result_max_bytes: options.tool_result_max_bytes, executions: options.tool_executions)
      end

      def child_env
        { "CLAUDE_CODE_ENTRYPOINT" => ENTRYPOINT, "CLAUDECODE" => nil }.merge(Arguments.env(options)).merge(options.env)
      end

      # The keys the CLI gets (inherited or from env:), so that its stderr never carries them into an error or a log.
      def secrets
        ENV.to_h.merge(options.env).filter_map do |name, value|
          value if name.to_s.match?(SECRET_ENV) && value.is_a?(String) && value.size >= 8
        end
      end

      def hooks_config
        return nil if options.hooks.empty?

        options.hooks.to_h do |event, matchers|
          [event, matchers.map do |m|
            id = "hook_#{@hook_callbacks.size}"
            @hook_callbacks[id] = [event, m.handlers]
            { "matcher" => m.matcher, "hookCallbackIds" => [id], "timeout" => m.timeout }.compact
          end]
        end
      end

      def write_json(hash)
        line = "#{JSON.generate(hash)}\n"
        @write_mutex.synchronize { @child.write(line) }
      rescue CLIConnectionError
        raise_for_exit("before reading what was sent") if @child.owned? && @child.wait(1) # a CLI that died says why
        raise
      end

      def next_request_id
        @write_mutex.synchronize { @request_counter += 1 }
        "req_#{@request_counter}_#{SecureRandom.hex(4)}"
      end

      def send_control(request)
        raise CLIConnectionError, "not connected" unless @child

        id = next_request_id
        write_json("type" => "control_request", "request_id" => id, "request" => request)
        id
      end

      # Sends a control request and reads until its answer; data lines read meanwhile are kept for each_line.
      def control_request(request, timeout:)
        id = send_control(request)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        loop do
          item = next_item(deadline)
          raise_for_exit("before answering #{request["subtype"]}") if item == :eof
          next @deferred << item unless item.is_a?(String)

          case Native.peek_type(item)
          when "control_response"
            response = Native.parse_json(item)["response"] || {}
            next unless response["request_id"] == id
            raise CLIConnectionError, "#{request["subtype"]} failed: #{response["error"]}" if response["subtype"] == "error"

            return response["response"] || {}
          when "control_request" then handle_control_request(item)
          when "control_cancel_request" then nil
          else @deferred << item
          end
        end
      end

      # The next item for the caller: a data line (String), an error Message, or :eof. Control traffic is handled here.
      def next_data_item
        return @deferred.shift unless @deferred.empty?

        loop do
          item = next_item(nil)
          return item unless item.is_a?(String)

          case Native.peek_type(item)
          when "control_request" then handle_control_request(item)
          when "control_response", "control_cancel_request" then nil # answers to interrupt & co.; nobody waits
          else return item
          end
        end
      end

      def next_item(deadline)
        loop do
          unless @queue.empty?
            item = @queue.shift
            raise item if item.is_a?(Exception)

            return item
          end
          return :eof if @eof

          chunk = read_chunk(deadline)
          if chunk
            @reader.feed(chunk) { |kind, payload| @queue << framed(kind, payload) }
          else
            @eof = true
            @reader.finish { |kind, payload| @queue << framed(kind, payload) }
          end
        end
      end

      def framed(kind, payload)
        return payload if kind == :line

        # :too_long — the framer already skipped the line and goes on reading.
        if options.strict_parsing
          JSONDecodeError.new("line of #{payload[:bytes]} bytes exceeds max_buffer_size (#{options.max_buffer_size})",
                              line_excerpt: payload[:excerpt])
        else
          Message.parse_error("line_too_long", excerpt: payload[:excerpt], bytes: payload[:bytes])
        end
      end

      # The next chunk of stdout, nil at its end. The end is EOF, or the CLI's exit once the pipe is drained: a
      # grandchild that inherited stdout must not keep us waiting for a CLI that is gone.
      def read_chunk(deadline)
        io = @child.stdout
        timeout = deadline && deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        ready, = IO.select([io, @child.exit_io], nil, nil, timeout) unless timeout && timeout <= 0
        raise ControlTimeoutError, "the CLI did not answer the control request in time" unless ready
        return io.readpartial(READ_CHUNK) if ready.include?(io)

        chunk = io.read_nonblock(READ_CHUNK, exception: false) # exited: what it wrote is in the pipe already
        chunk.is_a?(String) ? chunk : nil
      rescue EOFError
        nil
      rescue IOError => e
        raise CLIConnectionError, "CLI output closed: #{e.message}"
      end

      # The CLI ended (EOF on stdout, or its exit) where it should not have: ProcessError with its exit code and the
      # tail of its stderr, exit status 0 included — a run has a result or an error, never a silent end.
      def raise_for_exit(what)
        status = @child.wait(options.close_timeout)
        stderr = @child.stderr_output
        raise CLIConnectionError, "the CLI closed its output but did not exit" if status.nil? && !@child.exited?

        code = status && (status.exitstatus || -status.termsig)
        how = if status.nil? then "its exit status was collected by another Process.wait"
              elsif status.signaled? then "killed by SIG#{Signal.signame(status.termsig)}"
              else "exit status #{code}"
              end
        raise ProcessError.new("Claude Code CLI exited #{what} (#{how})", exit_code: code, stderr: stderr)
      end

      def handle_control_request(line)
        message = Native.parse_json(line)
        id = message["request_id"]
        request = message["request"] || {}
        response =
          case request["subtype"]
          when "hook_callback" then answer_hook(request)
          when "can_use_tool" then answer_permission(request)
          when "mcp_message" then answer_mcp(request)
          else return control_error(id, "unsupported control request #{request["subtype"].inspect}")
          end
        write_json("type" => "control_response",
                   "response" => { "subtype" => "success", "request_id" => id, "response" => response })
      rescue StandardError => e
        control_error(id, "#{e.class}: #{e.message}")
      end

      def control_error(id, error)
        write_json("type" => "control_response", "response" => { "subtype" => "error", "request_id" => id, "error" => error })
      end

      def answer_hook(request)
        event, handlers = @hook_callbacks.fetch(request["callback_id"]) do
          raise ArgumentError, "no hook callback #{request["callback_id"].inspect}"
        end
        Hooks.run(event, handlers, request["input"], request["tool_use_id"])
      end

      def answer_permission(request)
        input = request["input"] || {}
        context = Permissions::Context.new(tool_use_id: request["tool_use_id"], agent_id: request["agent_id"],
                                           suggestions: request["permission_suggestions"] || [], input: input)
        Permissions.decide(options.can_use_tool, request["tool_name"], input, context).to_cli(input)
      end

      # Ruby tools (tools:) are served as the in-process MCP server "agent_sdk" (see SdkMcpServer).
      def answer_mcp(request)
        rpc = request["message"].is_a?(Hash) ? request["message"] : {}
        if @mcp_server && request["server_name"] == @mcp_server.name
          return { "mcp_response" => @mcp_server.handle(rpc) }
        end

        { "mcp_response" => { "jsonrpc" => "2.0", "id" => rpc["id"],
                              "error" => { "code" => -32_601, "message" => "no SDK MCP server #{request["server_name"].inspect}" } } }
      end
    end
  end
end
