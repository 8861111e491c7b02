# frozen_string_literal: true

# Runs the real Claude Code CLI offline against the project's fake Messages API server.
module RealCLI
  def self.path
    return @path if defined?(@path)

    @path = ENV["CLAUDE_CLI"] || begin
      RubyLLM::AgentSDK::CLI.find
    rescue RubyLLM::AgentSDK::CLINotFoundError
      nil
    end
  end

  # bin/test sets AGENT_SDK_REQUIRE_CLI=1: there a missing CLI fails the run instead of skipping.
  def self.skip_reason
    return nil if path
    raise "the claude CLI is required (AGENT_SDK_REQUIRE_CLI=1) but was not found; run bin/setup" if ENV["AGENT_SDK_REQUIRE_CLI"]

    "claude CLI not installed (bin/setup installs it)"
  end

  module Helpers
    # A fake server, a throw-away HOME and cwd; yields the server and the options that point the CLI at them.
    def with_real_cli(turns = [], **server_options)
      skip(RealCLI.skip_reason) if RealCLI.skip_reason
      Dir.mktmpdir("agent_sdk_cli") do |dir|
        home = File.join(dir, "home")
        cwd = File.join(dir, "project")
        FileUtils.mkdir_p([home, cwd])
        RubyLLM::AgentSDK::Testing::FakeServer.open(turns, **server_options) do |server|
          yield server, cli_options(server, home: home, cwd: cwd), cwd
        end
      end
    end

    def cli_options(server, home:, cwd:)
      {
        cli_path: RealCLI.path, cwd: cwd, model: "claude-sonnet-4-5",
        env: {
          "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => "sk-ant-test-not-a-real-key",
          "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => "1", "HOME" => home,
          # Claude Code refuses bypassPermissions as root unless it is told it runs in a sandbox (CI runs as root).
          "IS_SANDBOX" => "1"
        }
      }
    end

    # Every child of this process, running or unreaped (from /proc, so nothing is asked of the children).
    def child_processes
      Dir.glob("/proc/[0-9]*/stat").filter_map do |stat|
        comm, rest = File.read(stat).match(/\((.*)\) (.*)/m).captures
        fields = rest.split
        "#{File.basename(File.dirname(stat))} #{comm} #{fields[0]}" if Integer(fields[1]) == Process.pid
      rescue Errno::ENOENT, Errno::ESRCH
        nil
      end
    end
  end
end

RSpec.configure { |c| c.include RealCLI::Helpers }
