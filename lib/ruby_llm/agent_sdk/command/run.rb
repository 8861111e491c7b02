# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Command
      # `agent-sdk run "PROMPT" [options]`: one query, its transcript printed as it streams. On a terminal a live
      # status line (StatusLine) sits under it; piped, plain lines; --json prints NDJSON. Ctrl-C cancels the query
      # (the CLI is interrupted and stopped, the :api request aborted); a second Ctrl-C stops at once.
      class Run < Base
        CANCEL_GRACE = 15 # seconds a cancelled query has to end before it is stopped as by a second Ctrl-C
        EXIT_CANCELLED = 130

        def call(args)
          settings = { json: false, status: nil }
          options = {}
          rest = parse(parser(options, settings), args)
          return 0 unless rest

          query = Query.new(prompt(rest), build_options(options))
          stream(query, settings)
        end

        private

        def parser(options, settings)
          OptionParser.new do |o|
            o.banner = "Usage: agent-sdk run \"PROMPT\" [options]   (without PROMPT, it is read from stdin)"
            o.separator ""
            o.on("--transport NAME", %w[api cli], "cli (the Claude Code CLI) or api (the gem's own loop over HTTP)") do |v|
              options[:transport] = v.to_sym
            end
            o.on("--model MODEL", "e.g. claude-sonnet-4-5") { |v| options[:model] = v }
            o.on("--max-budget-usd USD", Float, "stop the run past this cost") { |v| options[:max_budget_usd] = v }
            o.on("--max-turns N", Integer, "stop the run after N model turns") { |v| options[:max_turns] = v }
            o.on("--cwd DIR", "the agent's working directory") { |v| options[:cwd] = v }
            o.on("--system-prompt TEXT") { |v| options[:system_prompt] = v }
            o.on("--resume SESSION_ID", "continue a session") { |v| options[:resume] = v }
            o.on("--allowed-tools LIST", "cli: the CLI's tools allowed without asking, comma-separated") do |v|
              options[:allowed_tools] = v
            end
            o.on("--permission-mode MODE", "cli: #{Options::PERMISSION_MODES.keys.join(", ")}") do |v|
              options[:permission_mode] = Options::PERMISSION_MODES.key(v) || v.tr("-", "_").to_sym
            end
            o.on("--cli-path PATH", "cli: the claude executable (default: found as the gem finds it)") do |v|
              options[:cli_path] = v
            end
            o.on("--base-url URL", "api: the Messages API (default: $ANTHROPIC_BASE_URL, else the public API)") do |v|
              options[:base_url] = v
            end
            o.on("--json", "print each message as one JSON object per line (NDJSON)") { settings[:json] = true }
            o.on("--[no-]status", "the live status line (default: when stdout is a terminal, without --json)") do |v|
              settings[:status] = v
            end
            o.separator ""
            o.separator "The API key comes from $ANTHROPIC_API_KEY (the CLI may use its own login instead)."
            o.separator "Exit status: 0 success, 1 failed run or error, 2 bad arguments, 130 cancelled (Ctrl-C)."
          end
        end

        def prompt(rest)
          text = rest.join(" ")
          text = @stdin.read.to_s if text.strip.empty? && !@stdin.tty?
          raise UsageError.new("a prompt is needed: agent-sdk run \"PROMPT\"", nil) if text.strip.empty?

          text
        end

        def build_options(options)
          Options.build(**options)
        rescue ArgumentError => e
          raise UsageError, e.message
        end

        def stream(query, settings)
          transcript = Transcript.new(json: settings[:json])
          live = settings[:status].nil? ? @out.tty? && !settings[:json] : settings[:status]
          @status = live ? StatusLine.new(@out).start : nil
          result = nil
          interruptible(query) do
            query.each do |message|
              result = message if message.result?
              show(transcript.lines(message), message)
            end
          end
          finish(result)
        rescue Interrupt
          @status&.finish
          @err.puts("agent-sdk: stopped")
          EXIT_CANCELLED
        ensure
          @status&.finish
        end

        def show(lines, message)
          if @status
            @status.print(lines, message)
          else
            lines.each { |line| @out.puts(line) }
            @out.flush
          end
        end

        def notice(text)
          @status ? @status.notice(@err, text) : @err.puts(text)
        end

        def finish(result)
          @status&.finish
          return EXIT_CANCELLED if @cancelled

          unless result
            @err.puts("agent-sdk: the run ended without a result")
            return 1
          end
          return 0 unless result.error?

          errors = Array(result["errors"]).map(&:to_s).reject(&:empty?)
          detail = errors.empty? ? result.content.to_s : errors.join("; ")
          @err.puts("agent-sdk: the run failed (#{result.subtype}#{", is_error" if result.subtype == "success"}): #{detail}".rstrip)
          1
        end

        # Runs the block with Ctrl-C cancelling the query. The signal handler only writes to a pipe; a thread does the
        # rest (a handler may not take the locks query.cancel needs).
        def interruptible(query)
          reader, writer = IO.pipe
          previous = trap("INT") { writer.write_nonblock(".", exception: false) }
          watcher = Thread.new(Thread.current) { |main| watch(reader, query, main) }
          yield
        ensure
          trap("INT", previous || "DEFAULT")
          watcher&.kill&.join
          [reader, writer].each { |io| io&.close }
        end

        def watch(reader, query, main)
          reader.wait_readable
          reader.read_nonblock(64, exception: false)
          @cancelled = true
          notice("agent-sdk: cancelling (Ctrl-C again to stop at once)")
          begin
            query.cancel
          rescue Error, IOError, SystemCallError # not started yet, or already gone: stop it the hard way
            return main.raise(Interrupt)
          end
          reader.wait_readable(CANCEL_GRACE)
          main.raise(Interrupt)
        end
      end
    end
  end
end
