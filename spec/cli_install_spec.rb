# frozen_string_literal: true

require "logger"
require "open3"
require "stringio"

# The CLI version the gem pins and was tested with, and the warning when the CLI found is another one.
RSpec.describe RubyLLM::AgentSDK::CLIInstall do
  root = File.expand_path("..", __dir__)

  around do |example|
    Dir.mktmpdir("agent_sdk_cli_install") do |dir|
      @dir = dir
      described_class.reset!
      example.run
    ensure
      described_class.reset!
      SDK.config.logger = nil
    end
  end

  let(:log) { StringIO.new }

  before { SDK.config.logger = Logger.new(log) }

  # A stand-in `claude` that prints version and counts how often it was run.
  def fake_claude(version, name: "claude")
    path = File.join(@dir, name)
    File.write(path, "#!/bin/sh\necho run >> '#{path}.runs'\necho '#{version} (Claude Code)'\n")
    File.chmod(0o755, path)
    path
  end

  def runs(path) = File.exist?("#{path}.runs") ? File.readlines("#{path}.runs").size : 0

  it "is the version bin/setup installs (bin/setup reads it from here)" do
    line = File.readlines(File.join(root, "bin", "setup")).find { |l| l.start_with?("CLAUDE_CODE_VERSION=") }
    version, status = Open3.capture2({ "CLAUDE_CODE_VERSION" => nil }, "bash", "-c", "#{line}echo \"$CLAUDE_CODE_VERSION\"",
                                     chdir: root)
    expect([version.strip, status.success?]).to eq([described_class::PINNED_VERSION, true])
    expect(described_class::TESTED_VERSIONS).to be_satisfied_by(Gem::Version.new(described_class::PINNED_VERSION))
  end

  it "reads the real CLI's version from its npm package without running it, and it is the pinned one" do
    skip(RealCLI.skip_reason) if RealCLI.skip_reason
    expect(described_class.version_of(RealCLI.path, run: false)).to eq(described_class::PINNED_VERSION)
  end

  it "warns once when the CLI found is outside the tested versions, reading `claude --version` once" do
    old = fake_claude("2.0.14")
    allow(SDK::CLI).to receive(:candidates).and_return([File.join(@dir, "missing", "claude"), old])
    3.times { expect(SDK::CLI.find).to eq(old) }
    warnings = log.string.lines.grep(/WARN/)
    expect(warnings.size).to eq(1)
    expect(warnings.first).to include("Claude Code CLI 2.0.14 at #{old} is outside the versions this gem was tested " \
                                      "with (>= #{described_class::PINNED_VERSION}, < 2.2)",
                                      "`agent-sdk install-cli` installs #{described_class::PINNED_VERSION}")
    expect(runs(old)).to eq(1)
  end

  it "is quiet for a tested version, and never runs a cli_path: it was given" do
    tested = fake_claude(described_class::PINNED_VERSION)
    allow(SDK::CLI).to receive(:candidates).and_return([tested])
    2.times { SDK::CLI.find }
    given = fake_claude("1.0.0", name: "wrapper")
    expect(SDK::CLI.find(given)).to eq(given)
    expect(log.string).to eq("")
    expect([runs(tested), runs(given)]).to eq([1, 0])
  end

  it "looks for the CLI that `agent-sdk install-cli` installs first, under $AGENT_SDK_HOME or ~/.agent_sdk" do
    home = ENV.fetch("AGENT_SDK_HOME", nil)
    ENV["AGENT_SDK_HOME"] = File.join(@dir, "sdk")
    expect(SDK::CLI.candidates.first).to eq(File.join(@dir, "sdk", "cli", "node_modules", ".bin", "claude"))
    ENV.delete("AGENT_SDK_HOME")
    expect(SDK::CLI.candidates.first).to eq(File.join(Dir.home, ".agent_sdk", "cli", "node_modules", ".bin", "claude"))
  ensure
    ENV["AGENT_SDK_HOME"] = home
  end
end
