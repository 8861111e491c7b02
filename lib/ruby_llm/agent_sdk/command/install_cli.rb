# frozen_string_literal: true

require "fileutils"
require "json"

module RubyLLM
  module AgentSDK
    module Command
      # `agent-sdk install-cli [--version V] [--dir DIR]`: npm-installs the Claude Code CLI (by default the version the
      # gem pins, CLIInstall::PINNED_VERSION) into CLIInstall.directory ($AGENT_SDK_HOME/cli, else ~/.agent_sdk/cli),
      # which CLI.find looks at first. npm runs from an argv, never a shell.
      class InstallCLI < Base
        def call(args)
          version = CLIInstall::PINNED_VERSION
          dir = CLIInstall.directory
          parser = OptionParser.new do |o|
            o.banner = "Usage: agent-sdk install-cli [options]"
            o.on("--version VERSION", "default: #{version}, the version this gem pins") { |v| version = v }
            o.on("--dir DIR", "npm prefix (default: #{dir || "$AGENT_SDK_HOME/cli"}; the gem finds only the default)") do |v|
              dir = File.expand_path(v)
            end
          end
          return 0 unless parse(parser, args)
          raise UsageError, "no directory: set AGENT_SDK_HOME or HOME, or pass --dir" unless dir
          raise UsageError, "not a version: #{version.inspect}" unless version.match?(/\A\d+\.\d+\.\d+[\w.-]*\z/)

          install(find_npm, dir, version)
        end

        private

        def find_npm
          ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, "npm") }
             .find { |path| CLI.executable?(path) } ||
            raise(Error, "npm not found on PATH: install Node.js 18 or newer (it includes npm), e.g. " \
                         "`apt-get install nodejs npm`, then run `agent-sdk install-cli` again")
        end

        def install(npm, dir, version)
          FileUtils.mkdir_p(dir)
          manifest = File.join(dir, "package.json")
          File.write(manifest, "#{JSON.generate("name" => "agent-sdk-cli", "private" => true)}\n") unless File.exist?(manifest)
          @out.puts("agent-sdk: npm install #{CLIInstall::PACKAGE}@#{version} into #{dir}")
          @out.flush
          argv = [npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error",
                  "#{CLIInstall::PACKAGE}@#{version}"]
          log = @err.is_a?(IO) ? @err : $stderr
          raise Error, "npm install failed (#{$?.exitstatus || $?})" unless system(*argv, in: File::NULL, out: log, err: log)

          report(File.join(dir, "node_modules", ".bin", "claude"), version)
        end

        def report(path, version)
          raise Error, "npm finished but #{path} is not there" unless CLI.executable?(path)

          installed = CLIInstall.version_of(path)
          @out.puts("agent-sdk: installed Claude Code #{installed || version} at #{path}")
          found = begin
            CLI.find
          rescue CLINotFoundError
            nil
          end
          @out.puts(found == path ? "agent-sdk: the gem uses it" : "agent-sdk: note: the gem does not find it there " \
                                                                     "(it uses #{found || "nothing"}); pass cli_path: #{path}")
          0
        end
      end
    end
  end
end
