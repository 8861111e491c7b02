# frozen_string_literal: true

require "json"
require "io/wait"
require "securerandom"
require_relative "cli/arguments"
require_relative "cli/results"

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
      # After timeout: has passed and the CLI was told to stop the turn: how long its result may take before the
      # process is stopped and this side writes the error_timeout result.
      TIMEOUT_GRACE = 5.0
      # How often a control call that waits while another thread reads looks whether it may read itself.
      ANSWER_POLL = 0.05

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
        @read_mutex = Mutex.new # held by whoever reads stdout: each_line, or a control call waiting for its answer
        @answers_mutex = Mutex.new
        @answered = ConditionVariable.new
        @answers = {} # request_id => the CLI's control_response, for the control calls waiting (@waiting)
        @waiting = {}
        @ended = nil  # what this side did to the run in progress: nil, :cancelled (interrupt) or :timeout
      end

      # Single-shot: start the CLI, send the prompt, yield each raw line up to and including the result, stop it.
      # With timeout: the deadline runs from here, the CLI's start included.
      def stream(prompt, &block)
        run(prompt, deadline: self.class.deadline(options), &block)
      ensure
        close
      end

      # One prompt on this CLI (started first if need be): its lines, as each_line yields them. A deadline that
      # passes while the CLI starts ends the run too: the CLI is stopped and an error_timeout result yielded.
      def run(prompt, deadline: nil, &block)
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        begin
          connect(deadline: deadline)
        rescue ControlTimeoutError
          raise unless deadline && Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline

          return yield Results.timeout_result(session_id: nil, started: started, timeout: options.timeout)
        end
        return each_prompt(prompt, deadline, &block) unless prompt.is_a?(String)

        send_prompt(prompt)
        each_line(deadline: deadline, &block)
      end

      # Streaming input: each user message of an Enumerable (a String, or {content: String or content blocks}) is
      # written when the enumerable gives it and the CLI is done with the one before (one turn, one result each).
      def each_prompt(prompts, deadline, &block)
        last = nil
        prompts.each do |prompt|
          content = prompt.is_a?(Hash) ? (prompt[:content] || prompt["content"]) : prompt
          unless (content.is_a?(String) && !content.strip.empty?) || (content.is_a?(Array) && !content.empty?)
            raise ArgumentError, "a streamed user message is a non-empty String or {content: String or content blocks}"
          end

          send_prompt(content)
          last = each_line(deadline: deadline, &block)
        end
        last
      end

      # The monotonic time timeout: ends a query started now at, or nil.
      def self.deadline(options)
        options.timeout && Process.clock_gettime(Process::CLOCK_MONOTONIC) + options.timeout
      end

      # A prewarmed CLI handed to one caller (Pool#checkout): options whose spawn-time values are this CLI's (see
      # Pool::PER_CHECKOUT, Pool::BOUND_CALLABLES) replace the ones it was started with, for the rest of its life: the
      # Ruby tools' context, execution store, timeout and result cap, the hook handlers and can_use_tool:, the
      # deadlines. What the CLI itself was told (argv, env, hook matchers) stays.
      def bind(options)
        raise CLIConnectionError, "this CLI process was stopped" if @stopped

        @options = options
        @mcp_server&.bind(**runner_options(options))
        @hook_callbacks = hook_callbacks(options) if @child # (an unstarted CLI builds them at connect)
        self
      end

      def connected? = !@child.nil? && !@stopped

      # True once #close ran (or a timed-out run had the process stopped): this CLI starts no new process.
      def stopped? = @stopped == true

      def connect(deadline: nil)
        raise CLIConnectionError, "this CLI process was stopped" if @stopped
        return self if @child

        @reader = Native::LineReader.new(options.max_buffer_size)
        @private_files = Arguments::PrivateFiles.new
        argv = Arguments.with_private_json(build_argv, @private_files)
        @child = ChildProcess.new(argv, env: child_env, chdir: options.cwd, on_stderr: options.stderr,
                                  redact: secrets)
        timeout = options.control_timeout
        timeout = [timeout, deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)].min if deadline
        @server_info = control_request({ "subtype" => "initialize", "hooks" => hooks_config }
                                         .merge(Arguments.initialize_fields(options)), timeout: timeout)
        self
      rescue StandardError
        close
        raise
      end

      def send_prompt(prompt)
        @mcp_server&.reset # one prompt, one run: repeated tool calls are counted per run
        @ended = nil
        write_json("type" => "user", "session_id" => "", "parent_tool_use_id" => nil,
                   "message" => { "role" => "user", "content" => prompt })
      end

      # Yields raw lines (or error Messages from the framer) until a result line, which is yielded last, in the
      # subtypes both transports share (CLI::Results). A CLI that ends before its result, whatever its exit status,
      # raises ProcessError (after the lines it did send).
      #
      # deadline (monotonic seconds, see CLI.deadline): when it passes the CLI is told to stop the turn and its result
      # ends "error_timeout"; a CLI that does not end the run within TIMEOUT_GRACE is stopped (and reaped), and an
      # error_timeout result written here is yielded last.
      def each_line(deadline: nil)
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        session_id = nil
        loop do
          item = next_data_item(deadline)
          if item == :timeout && @ended != :timeout
            deadline = expire
            next
          elsif item == :timeout
            stop_process
            return yield Results.timeout_result(session_id: session_id, started: started, timeout: options.timeout)
          end
          raise_for_exit("without a result") if item == :eof

          type = item.is_a?(String) && Native.peek_type(item)
          session_id ||= Native.parse_json(item)["session_id"] if type == "system"
          next yield item unless type == "result"

          return yield Results.map(item, ended: @ended, timeout: options.timeout)
        end
      end

      # Stops the current turn: the run's result follows (error_cancelled). Safe from another thread; waits for the
      # CLI's answer (ControlRequestError when it refuses, ControlTimeoutError after control_timeout).
      # A CLI that ends (or is closed) before it answers has nothing left to stop: nil.
      def interrupt
        @ended ||= :cancelled
        control_request({ "subtype" => "interrupt" }, timeout: options.control_timeout)
        nil
      rescue ControlRequestError, ControlTimeoutError
        raise
      rescue ProcessError, CLIConnectionError
        raise unless @stopped || @child&.exited?
      end

      # Raises ControlRequestError when the CLI refuses the mode (e.g. bypass_permissions in a session that was not
      # started with it); the run then goes on in the mode it had.
      def set_permission_mode(mode)
        cli_mode = Options.new(permission_mode: mode).cli_permission_mode
        control_request({ "subtype" => "set_permission_mode", "mode" => cli_mode }, timeout: options.control_timeout)
        nil
      end

      def set_model(model)
        raise ArgumentError, "model must be a non-empty String" unless model.is_a?(String) && !model.strip.empty?

        control_request({ "subtype" => "set_model", "model" => model }, timeout: options.control_timeout)
        nil
      end

      # The CLI's MCP servers and their state: [{"name" => "agent_sdk", "status" => "connected", …}, …].
      def mcp_status
        response = control_request({ "subtype" => "mcp_status" }, timeout: options.control_timeout)
        Array(response["mcpServers"])
      end

      # Restores the files the CLI changed since the user message user_message_id (enable_file_checkpointing:):
      # the CLI's answer ({"canRewind" =>, "filesChanged" =>, "insertions" =>, "deletions" =>} on a dry run);
      # ControlRequestError with the CLI's reason when it cannot.
      def rewind_files(user_message_id, dry_run: false)
        control_request({ "subtype" => "rewind_files", "user_message_id" => user_message_id, "dry_run" => dry_run },
                        timeout: options.control_timeout)
      end

      # Close stdin → TERM → KILL, and reap (in a forked copy of this process: only drop the copies of the pipes).
      def close
        @stopped = true
        child = @child
        return @private_files&.remove unless child

        status = child.stop(grace: options.close_timeout)
        @private_files.remove if child.owned?
        @exit_status = status
      end

      # For finalizers: stop without waiting.
      def abandon
        return unless @child

        @child.stop_async
        @private_files.remove if @child.owned?
      end

      def pid = @child&.pid

      # True while the process runs and its output is open (a prewarmed CLI that crashed while idle is not).
      def alive? = !@child.nil? && !@stopped && @child.owned? && !@child.exited? && !@eof

      # The argv this CLI is started with (CLI::Arguments).
      def build_argv
        Arguments.build(options, @mcp_server)
      end

      private

      def build_mcp_server(options)
        return nil if options.tools.empty?

        SdkMcpServer.new(options.tools, **runner_options(options))
      end

      def runner_options(options)
        { context: options.context, default_timeout: options.tool_timeout,
          result_max_bytes: options.tool_result_max_bytes, executions: options.tool_executions }
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

      # The initialize request's hooks: one callback id per matcher, in order (#hook_callbacks maps them).
      def hooks_config
        return nil if options.hooks.empty?

        @hook_callbacks = hook_callbacks(options)
        ids = @hook_callbacks.keys.each
        options.hooks.to_h do |event, matchers|
          [event, matchers.map do |m|
            { "matcher" => m.matcher, "hookCallbackIds" => [ids.next], "timeout" => m.timeout }.compact
          end]
        end
      end

      # callback id => [event, handlers, timeout]: the same ids for the same events and matchers (CLI#bind relies on it).
      def hook_callbacks(options)
        entries = options.hooks.flat_map { |event, matchers| matchers.map { |m| [event, m.handlers, m.timeout] } }
        entries.each_with_index.to_h { |entry, index| ["hook_#{index}", entry] }
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

      def send_control(request, id = next_request_id)
        raise CLIConnectionError, "not connected" unless @child && !@stopped

        write_json("type" => "control_request", "request_id" => id, "request" => request)
        id
      end

      # Sends a control request and waits for its answer (the CLI's "response" Hash); ControlRequestError when the CLI
      # answers with an error, ControlTimeoutError when it does not answer in time. From any thread: while another
      # thread reads (each_line), that one hands the answer over; otherwise this one reads, and keeps the data lines
      # it meets for each_line.
      def control_request(request, timeout:)
        subtype = request["subtype"]
        id = next_request_id
        @answers_mutex.synchronize { @waiting[id] = true }
        send_control(request, id)
        response = await_answer(id, subtype, Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout)
        raise ControlRequestError.new(subtype, response["error"]) if response["subtype"] == "error"

        response["response"] || {}
      ensure
        @answers_mutex.synchronize { @waiting.delete(id) && @answers.delete(id) }
      end

      def await_answer(id, subtype, deadline)
        loop do
          answer = @answers_mutex.synchronize { @answers.delete(id) }
          return answer if answer

          left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          raise ControlTimeoutError, "the CLI did not answer #{subtype} in time (control_timeout)" if left <= 0

          if @read_mutex.owned? # asked from a hook or permission callback of this thread's own reading
            read_until_answered(id, subtype, deadline)
          elsif @read_mutex.try_lock
            begin
              read_until_answered(id, subtype, deadline)
            ensure
              @read_mutex.unlock
            end
          else
            @answers_mutex.synchronize do
              @answered.wait(@answers_mutex, [left, ANSWER_POLL].min) unless @answers.key?(id)
            end
          end
        end
      end

      # Holding @read_mutex: reads until id is answered or the deadline passes.
      def read_until_answered(id, subtype, deadline)
        until @answers_mutex.synchronize { @answers.key?(id) }
          item = next_item(deadline)
          return if item == :timeout
          raise_for_exit("before answering #{subtype}") if item == :eof

          data = item.is_a?(String) ? route(item) : item
          @deferred << data if data
        end
      end

      # The next item for the caller: a data line (String), an error Message, :eof, or :timeout once deadline
      # passed. Control traffic is handled here.
      def next_data_item(deadline)
        @read_mutex.synchronize do
          return @deferred.shift unless @deferred.empty?

          loop do
            item = next_item(deadline)
            return item unless item.is_a?(String)

            data = route(item)
            return data if data
          end
        end
      end

      # A line read from stdout: control traffic is handled (nil), a data line is returned.
      def route(line)
        case Native.peek_type(line)
        when "control_request" then handle_control_request(line)
        when "control_response" then record_answer(line)
        when "control_cancel_request" then nil # the CLI gave up on a callback (a hook past its timeout): answered anyway
        else return line
        end
        nil
      end

      # Hands a control_response to the control call waiting for it; answers nobody waits for (any more) are dropped.
      def record_answer(line)
        response = Native.parse_json(line)["response"]
        return unless response.is_a?(Hash)

        @answers_mutex.synchronize do
          next unless @waiting.key?(response["request_id"])

          @answers[response["request_id"]] = response
          @answered.broadcast
        end
      end

      # timeout: has passed: the CLI is told to stop the turn (its answer is not waited for: this thread reads it).
      # Returns the deadline of its result.
      def expire
        @ended = :timeout
        begin
          send_control("subtype" => "interrupt")
        rescue CLIConnectionError, ProcessError
          nil # gone already: the end of its output comes next
        end
        Process.clock_gettime(Process::CLOCK_MONOTONIC) + TIMEOUT_GRACE
      end

      # A timed-out CLI that did not end its run: TERM now, KILL soon after, reaped.
      def stop_process
        @stopped = true
        @exit_status = @child.stop(grace: 0, term_grace: 1.0)
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
          return :timeout if chunk == :timeout

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
        return :timeout unless ready
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
        event, handlers, timeout = @hook_callbacks.fetch(request["callback_id"]) do
          raise ArgumentError, "no hook callback #{request["callback_id"].inspect}"
        end
        Hooks.run(event, handlers, request["input"], request["tool_use_id"], timeout: timeout)
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
