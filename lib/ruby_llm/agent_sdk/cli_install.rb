# frozen_string_literal: true

require "json"
require "io/wait"

module RubyLLM
  module AgentSDK
    # Which Claude Code CLI the gem expects: the version it pins (bin/setup and `agent-sdk install-cli` install it),
    # the versions it was tested with, where `agent-sdk install-cli` puts it (CLI.find looks there first), and a
    # warning, once per executable, when the CLI found is outside TESTED_VERSIONS.
    module CLIInstall
      PINNED_VERSION = "2.1.197"
      # The suite runs PINNED_VERSION; later 2.1.x speak the same protocol and flags.
      TESTED_VERSIONS = Gem::Requirement.new(">= #{PINNED_VERSION}", "< 2.2").freeze
      PACKAGE = "@anthropic-ai/claude-code"
      VERSION_TIMEOUT = 10 # seconds for `claude --version`
      @versions = {}
      @mutex = Mutex.new

      class << self
        # $AGENT_SDK_HOME, else ~/.agent_sdk (nil when neither is known: HOME unset).
        def home
          dir = ENV.fetch("AGENT_SDK_HOME", "")
          return File.expand_path(dir) unless dir.empty?

          File.join(Dir.home, ".agent_sdk")
        rescue ArgumentError
          nil
        end

        # The npm prefix `agent-sdk install-cli` installs into.
        def directory
          home && File.join(home, "cli")
        end

        # Where the installed `claude` is (whether or not it is there yet).
        def executable
          directory && File.join(directory, "node_modules", ".bin", "claude")
        end

        # The CLI's version ("2.1.197"), or nil when it cannot be told. Read once per path: from the npm package the
        # executable belongs to, else (run: true) from `claude --version`.
        def version_of(path, run: true)
          key = [File.expand_path(path), run]
          @mutex.synchronize do
            return @versions[key] if @versions.key?(key)

            @versions[key] = package_version(path) || (run ? reported_version(path) : nil)
          end
        end

        # Warns once per path, through AgentSDK.logger, when the CLI's version is known and outside TESTED_VERSIONS.
        # A CLI given as cli_path: (which may be a wrapper script) is never run for this: only its npm package is read.
        # Returns path.
        def check(path, run: true)
          version = version_of(path, run: run)
          if version && !TESTED_VERSIONS.satisfied_by?(Gem::Version.new(version)) && first_warning?(path)
            AgentSDK.logger.warn("agent_sdk: Claude Code CLI #{version} at #{path} is outside the versions this gem " \
                                 "was tested with (#{TESTED_VERSIONS}); `agent-sdk install-cli` installs " \
                                 "#{PINNED_VERSION}")
          end
          path
        end

        # For tests: forget what was read and warned.
        def reset!
          @mutex.synchronize do
            @versions = {}
            @warned = nil
          end
        end

        private

        def first_warning?(path)
          @mutex.synchronize do
            @warned ||= {}
            !@warned.key?(path) && (@warned[path] = true)
          end
        end

        # npm links node_modules/.bin/claude to a file inside the package; its package.json is one or two levels up.
        def package_version(path)
          dir = File.dirname(File.realpath(path))
          3.times do
            manifest = File.join(dir, "package.json")
            if File.file?(manifest)
              data = JSON.parse(File.read(manifest))
              return data["name"] == PACKAGE ? parse_version(data["version"]) : nil
            end
            dir = File.dirname(dir)
          end
          nil
        rescue SystemCallError, JSON::ParserError
          nil
        end

        def reported_version(path)
          reader, writer = IO.pipe
          pid = Process.spawn(path, "--version", in: File::NULL, out: writer, err: File::NULL, pgroup: true)
          writer.close
          parse_version(read_until_eof(reader, Process.clock_gettime(Process::CLOCK_MONOTONIC) + VERSION_TIMEOUT))
        rescue SystemCallError
          nil
        ensure
          writer&.close unless writer&.closed?
          reader&.close
          reap(pid) if pid
        end

        def read_until_eof(reader, deadline)
          output = +""
          while output.bytesize < 4096
            left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
            break unless left.positive? && reader.wait_readable(left)

            output << reader.readpartial(4096)
          end
          output
        rescue EOFError
          output
        end

        # A CLI that has not exited a second after its output ended (or the timeout) is killed with its group.
        def reap(pid)
          deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 1
          until Process.wait(pid, Process::WNOHANG)
            if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
              Process.kill(:KILL, -pid)
              Process.wait(pid)
              break
            end
            sleep 0.01
          end
        rescue Errno::ESRCH, Errno::ECHILD
          nil
        end

        def parse_version(text)
          text.to_s[/\A\s*v?(\d+\.\d+\.\d+)/, 1]
        end
      end
    end
  end
end
