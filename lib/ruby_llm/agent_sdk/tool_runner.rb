# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    # Runs the Ruby tool calls of one model turn and returns their results for the next request.
    #
    #   runner = ToolRunner.new([LookupOrder], context: { user: current_user }, hooks: { pre_tool_use: [...] })
    #   runner.run([{ id: "toolu_1", name: "lookup_order", input: { "order_number" => "ORD-1" } }])
    #   # => [{ tool_use_id: "toolu_1", content: "{\"status\":\"shipped\"}", is_error: false }]
    #
    # One runner is one run: it remembers the calls made (dedup). Each call goes through, in order: unknown
    # tool / invalid input (checked in C) → repeated call → pre_tool_use hooks (deny / modify) → can_use_tool →
    # Tool#permitted? → Tool#call with its timeout → the result as text (a String as is, anything else as JSON),
    # capped to result_max_bytes → post_tool_use (or post_tool_use_failure) hooks. Every failure becomes an
    # is_error result for the model; nothing raises out of #run. Exceptions are reported to the model as
    # "ClassName: message"; their backtraces go to the logger only.
    #
    # Hooks, can_use_tool and permitted? run in the caller's thread, in call order. A tool call runs in the
    # caller's thread too when it has no timeout and runs alone (the only call of the turn that got this far, or
    # parallel: false); otherwise in a thread of its own, which a timeout can kill (all of a turn's at once with
    # parallel: true). Results come in call order. Exceptions that are not errors (Interrupt, SystemExit, …)
    # are not caught: they propagate out of #run, from a tool's thread as from the caller's. A tool's own thread runs
    # the call inside RubyLLM::AgentSDK.config.wrap_callback (the Rails executor, when one is set).
    #
    # Each call is one tool_call.agent_sdk event (Instrumentation) when someone subscribes: tool, tool_use_id,
    # is_error, refused (nil, or why: :unknown_tool, :invalid_input, :repeated, :hook, :can_use_tool, :not_permitted,
    # :timeout); its duration runs from admission to the result.
    class ToolRunner
      DEFAULT_RESULT_MAX_BYTES = 4096
      NO_HOOKS = [].freeze
      private_constant :NO_HOOKS

      attr_reader :tools

      # The calls of the last #run that wait for a decision ([{id:, name:, input:}]); none of that turn's calls ran.
      attr_reader :awaiting

      def initialize(tools, context: nil, hooks: {}, can_use_tool: nil, result_max_bytes: DEFAULT_RESULT_MAX_BYTES,
                     dedup: true, parallel: true, default_timeout: nil, logger: nil, hook_input: {},
                     executions: nil, approvals: nil)
        @tools = ToolRunner.index(tools)
        @context = context
        @hooks = Hooks.config(hooks)
        @matching = {}
        raise ArgumentError, "can_use_tool must respond to #call" unless can_use_tool.nil? || can_use_tool.respond_to?(:call)
        raise ArgumentError, "result_max_bytes must be a positive Integer" unless result_max_bytes.is_a?(Integer) && result_max_bytes.positive?
        unless default_timeout.nil? || (default_timeout.is_a?(Numeric) && default_timeout.real? && default_timeout.finite? &&
                                        default_timeout.positive?)
          raise ArgumentError, "default_timeout must be a finite positive number of seconds or nil"
        end
        raise ArgumentError, "hook_input must be a Hash" unless hook_input.is_a?(Hash)
        unless executions.nil? || (executions.respond_to?(:begin) && executions.respond_to?(:finish))
          raise ArgumentError, "executions must be a tool execution store (#begin, #finish), got #{executions.inspect}"
        end

        @can_use_tool = can_use_tool
        @result_max_bytes = result_max_bytes
        @dedup = dedup
        @parallel = parallel
        @default_timeout = default_timeout
        @logger = logger
        @hook_input = hook_input.transform_keys(&:to_s).freeze
        @executions = executions
        raise ArgumentError, "approvals must be a Hash of tool_use_id => decision" unless approvals.nil? || approvals.is_a?(Hash)

        @approvals = approvals # nil: no decision yet; a call that needs one waits (#awaiting)
        @awaiting = []
        @registry = Native::ToolRegistry.new(@tools.map { |name, tool| [name, JSON.generate(tool.input_schema)] })
      end

      # { tool_name => Tool class }, checking that each is a Tool class and no name repeats.
      def self.index(tools)
        list = Array(tools)
        list.each_with_object({}) do |tool, index|
          raise ArgumentError, "tools: expected RubyLLM::AgentSDK::Tool subclasses, got #{tool.inspect}" unless tool.is_a?(Class) && tool < Tool

          name = tool.tool_name
          raise ArgumentError, "tools: #{index[name]} and #{tool} are both named #{name.inspect}" if index.key?(name)

          index[name] = tool
        end.freeze
      end

      # calls: [{id:, name:, input:}] (input a Hash or a JSON text). Returns [{tool_use_id:, content:, is_error:}].
      def run(calls)
        raise ArgumentError, "calls must be an Array of {id:, name:, input:}" unless calls.is_a?(Array)

        timed = Instrumentation.listening?(:tool_call)
        @awaiting = []
        pending = calls.map { |call| admit(call, timed) }
        hold(pending) unless @awaiting.empty?
        begin
          if @parallel && pending.count { |p| !p.result } > 1
            pending.each { |p| start(p, alone: false) }
            pending.each { |p| finish(p) }
          else
            pending.each { |p| start(p, alone: true) && finish(p) }
          end
        ensure
          # Reached with threads alive only when #run is left by an exception: the caller's Timeout, Thread#raise or
          # #kill, or an Interrupt from one tool's thread. The tools it started stop here, before it propagates:
          # none may go on with its side effects for a run that is over.
          stop(pending.filter_map { |p| p.thread if p.thread&.alive? })
        end
        pending.map { |p| complete(p) }
      end

      def logger
        @logger || Hooks.logger
      end

      private

      # One call on its way through: `result` is set as soon as it is decided ([content, is_error]); `outcome` is
      # what the tool did ([:ok, value] or [:error, exception]), `thread` the thread it runs in when not inline.
      # `started` / `ended` (monotonic seconds) are kept only when the call is instrumented; `refused` says why it was.
      Call = Struct.new(:id, :name, :input, :input_json, :tool, :instance, :thread, :deadline, :timeout, :outcome, :result,
                        :ran, :refused, :started, :ended, :execution_key, :approved)
      private_constant :Call

      def admit(raw, timed)
        started = monotonic if timed
        call = Call.new(*fields(raw))
        call.started = started
        error = check(call) || deduplicate(call) || pre_tool_use(call) || ask_permission(call) || permitted(call) ||
                approval(call)
        decided(call, [error, true]) if error
        call
      rescue StandardError => e
        internal_error(call || Call.new, e)
      end

      # The call's result is known: its end, for the event.
      def decided(call, result)
        call.result = result
        call.ended = monotonic if call.started
      end

      def fields(raw)
        raise ArgumentError, "a tool call must be a Hash, got #{raw.class}" unless raw.is_a?(Hash)

        id, name, input = %i[id name input].map { |k| raw.key?(k) ? raw[k] : raw[k.to_s] }
        input_json = input.is_a?(String) ? input : JSON.generate(input.nil? ? {} : input)
        [id&.to_s, name.to_s, nil, input_json]
      end

      def check(call)
        error = @registry.check(call.name, call.input_json)
        if error
          call.refused = @tools.key?(call.name) ? :invalid_input : :unknown_tool
          return error
        end

        call.tool = @tools.fetch(call.name)
        call.input = JSON.parse(call.input_json)
        nil
      end

      def deduplicate(call)
        return nil unless @dedup && @registry.seen?(call.name, call.input_json)

        call.refused = :repeated
        "#{call.name} was already called with these arguments in this run; use the earlier result"
      end

      # A refusal before the tool ran: the same call may be made again (the refusal may not hold next time).
      def refused(call, message, why)
        @registry.forget(call.name, call.input_json) if @dedup
        call.refused = why
        message
      end

      def pre_tool_use(call)
        matching_hooks("PreToolUse", call.name).each do |matcher|
          output = Hooks.run("PreToolUse", matcher.handlers, hook_input(call, "PreToolUse"), call.id,
                             timeout: matcher.timeout)
          specific = output["hookSpecificOutput"].is_a?(Hash) ? output["hookSpecificOutput"] : {}
          if output["continue"] == false
            return refused(call, output["stopReason"] || "Stopped by a pre_tool_use hook", :hook)
          elsif specific["permissionDecision"] == "deny" || output["decision"] == "block"
            return refused(call, specific["permissionDecisionReason"] || output["reason"] || "Denied by a pre_tool_use hook",
                           :hook)
          elsif specific.key?("updatedInput")
            error = replace_input(call, specific["updatedInput"], "a pre_tool_use hook")
            return refused(call, error, :hook) if error
          end
        end
        nil
      end

      def ask_permission(call)
        return nil unless @can_use_tool

        context = Permissions::Context.new(tool_use_id: call.id, suggestions: [], agent_id: nil, input: call.input)
        decision = Permissions.decide(@can_use_tool, call.name, call.input, context)
        return refused(call, decision.message || "Denied by can_use_tool", :can_use_tool) unless decision.allow?

        error = decision.updated_input && replace_input(call, decision.updated_input, "can_use_tool")
        error ? refused(call, error, :can_use_tool) : nil
      end

      def permitted(call)
        call.instance = call.tool.new(@context)
        return nil if call.instance.permitted?(@context)

        refused(call, "#{call.name} is not permitted in this context", :not_permitted)
      rescue StandardError, ScriptError => e
        logger.error(Redaction.text("agent_sdk: #{call.tool}#permitted? raised #{e.class}: #{e.message} — not permitted"))
        refused(call, "#{call.name} is not permitted in this context (the permission check failed)", :not_permitted)
      end

      # Tool.requires_approval: approvals[id] is :approved / true (run it), [:rejected, reason] (an is_error result
      # carrying the reason), or absent (the call waits: see #awaiting).
      def approval(call)
        return nil unless call.tool.requires_approval?(call.input, @context)

        decision = @approvals&.[](call.id)
        if [:approved, true, "approved"].include?(decision)
          call.approved = true # through the execution store, like a side-effect call: run once
          return nil
        end

        if decision
          reason = Array(decision)[1].to_s
          return refused(call, "The user rejected this #{call.name} call#{reason.empty? ? "" : ": #{reason}"}", :rejected)
        end
        @awaiting << { id: call.id, name: call.name, input: call.input }
        refused(call, "#{call.name} is awaiting approval", :awaiting_approval)
      end

      # A turn with a call that waits runs none of its calls: the whole turn runs once every pending call is decided.
      def hold(pending)
        pending.each do |call|
          next if call.result

          @registry.forget(call.name, call.input_json) if @dedup
          decided(call, ["Not run: another call of this turn is awaiting approval", true])
        end
      end

      # Input changed by a hook or can_use_tool is checked against the schema again.
      def replace_input(call, input, by)
        json = JSON.generate(input)
        error = @registry.check(call.name, json)
        return "#{error} (as changed by #{by})" if error

        call.input = JSON.parse(json)
        nil
      rescue JSON::GeneratorError, TypeError => e
        "#{by} returned an input that is not JSON: #{e.message}"
      end

      # The matchers of an event that apply to a tool, worked out once per tool name (a matcher may be a Regexp).
      def matching_hooks(event, tool_name)
        matchers = @hooks[event] or return NO_HOOKS
        (@matching[event] ||= {})[tool_name] ||= matchers.select { |m| m.matches?(tool_name) }.freeze
      end

      def hook_input(call, event, extra = {})
        @hook_input.merge("hook_event_name" => event, "tool_name" => call.name, "tool_input" => call.input,
                          "tool_use_id" => call.id, **extra)
      end

      # ---- running ----

      # Runs the call in this thread when it may (no timeout, nothing to run beside it), else starts its thread.
      def start(call, alone:)
        return false if call.result || recorded_before?(call)

        call.timeout = call.tool.timeout || @default_timeout
        kwargs = call.input.transform_keys(&:to_sym)
        if alone && call.timeout.nil?
          call.outcome = invoke(call.instance, kwargs)
        else
          call.deadline = call.timeout && (monotonic + call.timeout)
          call.thread = Thread.new(call.instance, kwargs, "agent_sdk tool #{call.name}") do |instance, input, name|
            Thread.current.report_on_exception = false
            Thread.current.name = name # from inside: one prctl, where naming another thread writes /proc/…/comm
            AgentSDK.config.wrap_callback { invoke(instance, input) } # the Rails executor: its own DB connection
          rescue StandardError, ScriptError, SystemStackError => e
            [:error, e] # the executor itself failed (the tool's own errors are invoke's): an is_error result
          rescue Exception => e # rubocop:disable Lint/RescueException
            [:raise, e] # Interrupt, SystemExit…: raised again in the caller by #wait
          end
        end
        true
      rescue StandardError => e
        internal_error(call, e)
        false
      end

      # A side-effect call, and an approved one, goes through the execution store first: recorded as started (false:
      # run it), or decided from what was recorded before (true: not run again). A call that times out or is killed
      # stays "started".
      def recorded_before?(call)
        return false unless @executions && (call.tool.side_effect? || call.approved)

        key = call.tool.idempotency_key
        own = key ? key.call(call.input, @context).to_s : @registry.fingerprint(call.name, call.input_json)
        call.execution_key = "#{call.name}:#{own}"
        state, content, is_error = @executions.begin(call.execution_key, tool: call.name, input: call.input)
        # A call that started before and never finished is not run again blindly: for a tool that requires approval,
        # the person who approved this call decided, so it runs (its record, still "started", gets this result).
        return false if state == :run || (state == :unknown && call.approved)

        call.execution_key = nil
        decided(call, state == :done ? [content, is_error] : [ToolExecutions.unknown_outcome(call.name), true])
        true
      end

      # [:ok, value] or [:error, exception]. Anything else (Interrupt, SystemExit, NoMemoryError…) goes on up: in a
      # thread of its own, #wait raises it again in the caller.
      def invoke(instance, kwargs)
        [:ok, instance.call(**kwargs)]
      rescue StandardError, ScriptError, SystemStackError => e
        [:error, e]
      end

      def finish(call)
        return unless call.thread || call.outcome

        # Not rescued: a tool thread never ends by raising, so what #wait raises is the caller's own (Thread#raise) or
        # an Interrupt-like exception of the tool, both for the caller.
        status, value = call.thread ? wait(call) : call.outcome
        return if call.result # timed out

        record(call, status, value)
        call.ended = monotonic if call.started
      end

      def record(call, status, value)
        call.ran = true
        call.result = case status
                      when :ok then text_of(call, value)
                      when :error then raised(call, value)
                      end # nil: the tool's thread ended itself (Thread.exit): "produced no result"
        @executions.finish(call.execution_key, *call.result) if call.execution_key && call.result
      rescue StandardError => e
        internal_error(call, e)
      end

      # The thread's outcome; at the deadline the thread is killed and the call's result says so.
      def wait(call)
        thread = call.thread
        if call.deadline ? thread.join([call.deadline - monotonic, 0].max) : thread.join
          status, value = thread.value
          raise value if status == :raise

          return [status, value]
        end

        stop([thread])
        call.ran = true
        call.refused = :timeout
        decided(call, ["#{call.name} timed out after #{format_seconds(call.timeout)} s", true])
        nil
      end

      # Kills tools' threads, then waits for them to end (their ensure blocks run): nothing of them runs after this.
      # A tool thread never ends by raising (see #start), so the join raises nothing of theirs.
      def stop(threads)
        threads.each(&:kill)
        threads.each(&:join)
      end

      def raised(call, error)
        logger.error(Redaction.text("agent_sdk: tool #{call.name} raised #{error.class}: #{error.message}\n" \
                                    "#{Array(error.backtrace).join("\n")}"))
        [Redaction.text("#{error.class}: #{error.message}"), true] # the model, and the session store, see it
      end

      # [text, is_error]: a String as is, anything else as JSON; capped.
      def text_of(call, value)
        text = value.is_a?(String) ? value : JSON.generate(value)
        [Native.cap_result(text, @result_max_bytes), false]
      rescue JSON::GeneratorError, JSON::NestingError, EncodingError, TypeError => e
        ["The result of #{call.name} could not be turned into JSON (#{e.class}: #{e.message})", true]
      end

      def complete(call)
        content, is_error = call.result || ["#{call.name} produced no result", true]
        post_tool_use(call, content, is_error) if call.ran
        result = { tool_use_id: call.id, content: content.to_s, is_error: is_error ? true : false }
        publish(call, result) if call.started
        result
      end

      def publish(call, result)
        payload = { tool: call.name, tool_use_id: call.id, is_error: result[:is_error], refused: call.refused }
        Instrumentation.publish(:tool_call, call.started, call.ended || monotonic, payload)
      rescue StandardError => e # a subscriber that raises never changes a tool's result
        logger.error(Redaction.text("agent_sdk: tool_call.agent_sdk subscriber failed: #{e.class}: #{e.message}"))
      end

      def post_tool_use(call, content, is_error)
        event = is_error ? "PostToolUseFailure" : "PostToolUse"
        matchers = matching_hooks(event, call.name)
        return if matchers.empty?

        extra = is_error ? { "error" => content } : { "tool_response" => content }
        matchers.each do |matcher|
          Hooks.run(event, matcher.handlers, hook_input(call, event, extra), call.id, timeout: matcher.timeout)
        end
      rescue StandardError => e
        logger.error(Redaction.text("agent_sdk: #{event} hook for #{call.name} failed: #{e.class}: #{e.message}"))
      end

      def internal_error(call, error)
        logger.error(Redaction.text("agent_sdk: tool call #{call.name.inspect} failed inside the runner: #{error.class}: " \
                                    "#{error.message}\n#{Array(error.backtrace).join("\n")}"))
        decided(call, [Redaction.text("Internal error running #{call.name}: #{error.class}: #{error.message}"), true])
        call
      end

      def format_seconds(seconds)
        seconds.is_a?(Float) && seconds == seconds.floor ? seconds.to_i.to_s : seconds.to_s
      end

      def monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
