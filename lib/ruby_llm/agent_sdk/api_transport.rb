# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    # transport: :api — the gem's own agent loop in C (Native::Runner: core/loop.c over core/http.c), talking to the
    # Anthropic Messages API or an OpenAI-compatible chat-completions server. Ruby only runs the tools and hooks,
    # stores each message and hands it to the caller.
    class APITransport
      ANTHROPIC_VERSION = "2023-06-01"

      # One run to add to a Native::Runner: everything the C loop needs, built from the options.
      class Run
        attr_reader :options, :prompt, :store, :tool_runner
        attr_accessor :session_id

        def initialize(prompt, options)
          @prompt = prompt
          @options = options
          raise ArgumentError, "model: is required with transport: :api" unless options.model

          @store = options.session_store || SessionStore::JSONL.new
          @tool_runner = ToolRunner.new(options.tools, context: options.context, hooks: options.hooks,
                                        can_use_tool: options.can_use_tool, result_max_bytes: options.tool_result_max_bytes,
                                        dedup: options.dedup_tool_calls, parallel: options.parallel_tool_calls,
                                        default_timeout: options.tool_timeout, executions: options.tool_executions)
        end

        def config
          o = options
          price = Pricing.price_array(o.model)
          if o.max_budget_usd && price.nil?
            raise ArgumentError, "max_budget_usd needs a price for #{o.model.inspect}: none is known " \
                                 "(RubyLLM::AgentSDK::Pricing.register(#{o.model.inspect}, input:, output:))"
          end
          config = {
            provider: o.provider, model: o.model, prompt: prompt, system_prompt: o.system_prompt, cwd: o.cwd,
            tools_json: tools_json, tool_names_json: JSON.generate(tool_runner.tools.keys), price: price,
            max_turns: o.max_turns, max_tokens: o.max_tokens, max_output_tokens: o.max_output_tokens,
            max_retries: o.max_retries, prompt_caching: o.prompt_caching, include_partial: o.include_partial_messages,
            timeout_ms: o.timeout && (o.timeout * 1000).ceil,
            max_budget_micros: o.max_budget_usd && (Rational(o.max_budget_usd.to_s) * 1_000_000).floor,
            instrument: Instrumentation.listening?(:request) || Instrumentation.listening?(:retry)
          }
          if o.resume
            lines = store.lines(o.resume) or raise ArgumentError, "resume: no session #{o.resume.inspect} in #{store.class}"
            config.merge!(session_id: o.resume, transcript_json: JSON.generate(SessionStore.transcript(lines)))
          end
          config
        end

        def url
          base = options.resolved_base_url
          path = options.provider == :openai ? "/chat/completions" : "/messages"
          base.end_with?("/v1") ? "#{base}#{path}" : "#{base}/v1#{path}"
        end

        # Request headers. The key goes to libcurl only: never into an error, a log line or a message.
        def headers
          key = options.resolved_api_key
          list = ["content-type: application/json"]
          if options.provider == :openai
            list << "authorization: Bearer #{key}" if key
          else
            raise ArgumentError, "no API key: pass api_key: or set ANTHROPIC_API_KEY" unless key

            list.push("x-api-key: #{key}", "anthropic-version: #{ANTHROPIC_VERSION}")
          end
          list
        end

        # The prompt as the first stored line of this turn, so a resumed session sees it.
        def store_prompt
          store.append(session_id, JSON.generate("type" => "user", "session_id" => session_id,
                                                 "message" => { "role" => "user", "content" => prompt }))
        end

        # A turn with a call that needs approval (Tool.requires_approval) ends the run: ApprovalRequired goes up
        # from here, none of the turn's calls ran, and the assistant's tool_use line is stored already.
        def run_tools(calls)
          calls = calls.map { |c| { id: c[:id], name: c[:name], input: c[:input_json] } }
          results = tool_runner.run(calls)
          unless tool_runner.awaiting.empty?
            turn = calls.map { |c| c.merge(input: Native.parse_json(c[:input])) }
            raise ApprovalRequired.new(turn, tool_runner.awaiting.map { |c| c[:id] })
          end
          results.map { |r| [r[:content], r[:is_error]] }
        end

        private

        def tools_json
          tools = tool_runner.tools.values
          return nil if tools.empty?

          defs = tools.map(&:definition)
          if options.provider == :openai
            defs = defs.map do |d|
              { "type" => "function",
                "function" => { "name" => d["name"], "description" => d["description"], "parameters" => d["input_schema"] } }
            end
          elsif options.prompt_caching
            defs[-1] = defs[-1].merge("cache_control" => { "type" => "ephemeral" })
          end
          JSON.generate(defs)
        end
      end

      THREAD_HTTP = :agent_sdk_http

      # This thread's keep-alive connections: one Native::HTTP per thread, which each `query` and Client turn on
      # the thread reuses (no TCP and TLS handshake per query). nil while it is busy — a query started from inside
      # a tool of another on the same thread —, and that query then opens connections of its own.
      def self.thread_http
        http = Thread.current.thread_variable_get(THREAD_HTTP)
        return http if http&.usable?
        return nil if http&.busy?

        Thread.current.thread_variable_set(THREAD_HTTP, Native::HTTP.new) # closed, or inherited across fork
      end

      # Closes this thread's keep-alive connections (the next query opens new ones).
      def self.close_thread_connections
        http = Thread.current.thread_variable_get(THREAD_HTTP)
        Thread.current.thread_variable_set(THREAD_HTTP, nil)
        http.close if http&.usable?
        nil
      end

      # Runs several queries at once on one curl multi handle from this thread; yields (index, message).
      # on_runner gets the Native::Runner before anything is sent (for cancellation). With http: (a Native::HTTP)
      # the runs use its connections, which stay open; without, the runner's own are closed when it returns.
      def self.run_all(runs, on_runner: nil, http: nil)
        o = runs.first.options
        runner = Native::Runner.new(connect_timeout: o.connect_timeout, idle_timeout: o.idle_timeout,
                                    request_timeout: o.request_timeout, ca_file: o.ca_file, http: http)
        runs.each do |run|
          run.session_id = runner.session_id(runner.add(run.config, run.url, run.headers))
          run.store_prompt
        end
        on_runner&.call(runner)
        drive(runner, runs) { |index, message| yield index, message }
      ensure
        runner&.close
      end

      def self.drive(runner, runs)
        runner.run do |id, event, payload|
          run = runs[id]
          case event
          when :line
            run.store.append(run.session_id, payload)
            yield id, Query.to_message(payload, run.options)
            nil
          when :tools then run.run_tools(payload)
          when :request, :retry then Instrumentation.attempt(event, run.options.model, payload)
          end
        end
        completed = true
      ensure
        store_undelivered(runner, runs) unless completed
      end

      # The block raised or broke out, or the thread was killed or interrupted: every run still going is ended with
      # error_cancelled and the lines not yet delivered — that result included — still go to each session store.
      def self.store_undelivered(runner, runs)
        runner.drain { |id, line| runs[id].store.append(runs[id].session_id, line) }
      rescue StandardError
        nil # the original exception matters more than a store that fails now
      end

      def initialize(prompt, options)
        @run = Run.new(prompt, options)
        @runner = nil
        @mutex = Mutex.new
      end

      def each
        register = lambda do |runner|
          @mutex.synchronize do
            @runner = runner
            runner.cancel(0, @cancel_reason) if @cancel_reason
          end
        end
        self.class.run_all([@run], on_runner: register, http: self.class.thread_http) { |_, message| yield message }
      ensure
        @mutex.synchronize { @runner = nil }
      end

      # Ends the run from any thread: the request in flight is aborted and a result "error_cancelled" is yielded.
      def cancel(reason = "cancelled")
        @mutex.synchronize do
          @cancel_reason = reason
          @runner&.cancel(0, reason)
        end
      end
    end
  end
end
