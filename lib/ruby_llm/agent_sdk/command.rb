# frozen_string_literal: true

require "optparse"
require_relative "../agent_sdk"

module RubyLLM
  module AgentSDK
    # The `agent-sdk` command (exe/agent-sdk): `run` a query and watch it, `install-cli` the pinned Claude Code CLI,
    # `replay` a stored session. Command.start returns the exit status: 0 on success, 1 when the run or the work
    # failed, 2 for bad arguments, 130 when a run was cancelled with Ctrl-C.
    module Command
      USAGE = <<~TEXT
        Usage: agent-sdk COMMAND [options]

          run "PROMPT"     run one agent query; the transcript as it streams (--json: NDJSON)
          install-cli      install Claude Code #{CLIInstall::PINNED_VERSION} (the version this gem pins) where the gem finds it
          replay FILE      print a stored session (the gem's JSONL session files, the CLI's own transcripts)
          version          print the gem's version

        `agent-sdk COMMAND --help` lists the options of a command.
      TEXT
      COMMANDS = { "run" => :Run, "install-cli" => :InstallCLI, "replay" => :Replay }.freeze

      # Raised for bad arguments: the message (and the usage, when given) go to stderr, the exit status is 2.
      class UsageError < StandardError
        attr_reader :usage

        def initialize(message, usage = nil)
          @usage = usage
          super(message)
        end
      end

      # Runs the command line argv; returns the exit status.
      def self.start(argv, out: $stdout, err: $stderr, stdin: $stdin)
        name, *args = argv
        case name
        when nil, "-h", "--help", "help"
          (name ? out : err).print(USAGE)
          name ? 0 : 2
        when "-v", "--version", "version"
          out.puts("agent-sdk #{VERSION}")
          0
        else
          command = COMMANDS.fetch(name) { raise UsageError.new("unknown command #{name.inspect}", USAGE) }
          const_get(command).new(out: out, err: err, stdin: stdin).call(args)
        end
      rescue UsageError => e
        err.puts("agent-sdk: #{e.message}")
        err.print("\n#{e.usage}") if e.usage
        2
      rescue Errno::EPIPE # stdout closed early (`agent-sdk run … | head`): stop quietly, as other commands do
        141
      rescue Interrupt # Ctrl-C before or after a run (during one, Run cancels the query)
        130
      rescue Error, SystemCallError => e
        err.puts("agent-sdk: #{Redaction.text(e.message)}")
        1
      end

      # What every subcommand shares: its streams and its OptionParser's errors as UsageError.
      class Base
        def initialize(out:, err:, stdin:)
          @out = out
          @err = err
          @stdin = stdin
        end

        private

        # Parses args with the parser (--help prints it and returns nil); the rest of args are returned.
        def parse(parser, args)
          parser.on_head("-h", "--help", "show this help") do
            @out.print(parser.help)
            return nil
          end
          parser.parse(args)
        rescue OptionParser::ParseError => e
          raise UsageError.new(e.message, parser.help)
        end
      end
    end
  end
end

require_relative "command/transcript"
require_relative "command/tally"
require_relative "command/status_line"
require_relative "command/run"
require_relative "command/install_cli"
require_relative "command/replay"
