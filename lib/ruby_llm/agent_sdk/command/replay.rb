# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Command
      # `agent-sdk replay FILE|SESSION_ID [--json]`: prints a stored session as `agent-sdk run` prints a live one.
      # FILE is JSONL: the gem's session files (SessionStore::JSONL, `--json` output of run) or the CLI's own
      # transcripts (~/.claude/projects/<project>/<session>.jsonl); "-" reads stdin. A bare session id is looked up
      # in those two places.
      class Replay < Base
        def call(args)
          json = false
          parser = OptionParser.new do |o|
            o.banner = "Usage: agent-sdk replay FILE|SESSION_ID [options]"
            o.on("--json", "print each message as one JSON object per line (NDJSON)") { json = true }
          end
          rest = parse(parser, args)
          return 0 unless rest
          raise UsageError.new("one FILE or SESSION_ID is needed", parser.help) unless rest.size == 1

          replay(rest.first, Transcript.new(json: json), json ? nil : Tally.new)
          0
        end

        private

        # The CLI's own transcripts have no result line: a tally of the turns, tokens and (estimated) cost ends them.
        def replay(source, transcript, tally)
          options = Options.new(transport: :api)
          ended = false
          each_line(source) do |line|
            message = Query.to_message(line, options)
            ended ||= message.result?
            tally&.count(message)
            transcript.lines(message).each { |text| @out.puts(text) }
          end
          @out.puts("replay: #{tally.summary}") if tally && !ended && tally.turns.positive?
        end

        def each_line(source, &block)
          return @stdin.each_line { |line| yield line.chomp unless line.strip.empty? } if source == "-"

          path = File.file?(source) ? source : session_file(source)
          raise Error, "no such file or session: #{source}" unless path

          File.foreach(path, chomp: true) { |line| block.call(line) unless line.strip.empty? }
        end

        def session_file(id)
          return nil unless id.match?(SessionStore::JSONL::SAFE_ID)

          home = Dir.home rescue nil # rubocop:disable Style/RescueModifier -- HOME may be unset
          [SessionStore::JSONL.new.directory, *(home && Dir.glob(File.join(home, ".claude", "projects", "*")))]
            .map { |dir| File.join(dir, "#{id}.jsonl") }.find { |path| File.file?(path) }
        end
      end
    end
  end
end
