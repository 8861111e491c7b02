# frozen_string_literal: true

# Records real Claude Code CLI stream-json output (offline, against the fake server) into bench/data/cli_sample.jsonl,
# the corpus bench/parse_stream_json.rb repeats to ≥ 50 MB. The run reads real source files, globs and greps, so the
# lines have the shapes and sizes of a coding agent's session: init, assistant text and tool_use, large tool results,
# partial stream events, a result.
#
#   ruby bench/record_cli_output.rb
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "ruby_llm/agent_sdk"
require "tmpdir"
require "fileutils"

SDK = RubyLLM::AgentSDK
out_path = File.expand_path("data/cli_sample.jsonl", __dir__)
FileUtils.mkdir_p(File.dirname(out_path))

ruby_dir = RbConfig::CONFIG["rubylibdir"]
files = %w[net/http.rb optparse.rb set.rb ostruct.rb time.rb].map { |f| File.join(ruby_dir, f) }.select { |f| File.file?(f) }
turns = files.flat_map do |file|
  [{ tool_use: { name: "Read", input: { "file_path" => file } }, usage: { input_tokens: 4000, output_tokens: 60 } },
   { texts: ["Reading #{File.basename(file)}: it defines #{File.basename(file, ".rb")}.", "Next I will look for its tests."],
     tool_use: { name: "Grep", input: { "pattern" => "def ", "path" => file, "output_mode" => "content" } } }]
end
turns << { tool_use: { name: "Glob", input: { "pattern" => "**/*.rb", "path" => ruby_dir } } }
turns << { text: "Summary: #{"These libraries define the standard networking and data structures. " * 20}" }

lines = []
Dir.mktmpdir do |dir|
  SDK::Testing::FakeServer.open(turns) do |server|
    env = { "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => "sk-ant-bench",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => "1", "HOME" => dir }
    # Raw lines, exactly as the CLI printed them.
    cli = SDK::CLI.new(SDK::Options.new(cwd: dir, env: env, model: "claude-sonnet-4-5", include_partial_messages: true,
                                        allowed_tools: %w[Read Grep Glob], max_turns: 40))
    cli.stream("Read these files and summarise them") { |line| lines << line if line.is_a?(String) }
  end
end
File.write(out_path, lines.join("\n") << "\n")
puts "recorded #{lines.size} lines, #{File.size(out_path)} bytes → #{out_path}"
