# frozen_string_literal: true

# Every standard library that lib/ requires and that some Ruby has moved out of the default gems must be a runtime
# dependency in the gemspec: under Bundler, a bundled (not default) gem loads only when the bundle names it, so on
# Ruby 4.0 `require "logger"` raises LoadError in an app whose other gems do not pull it in (3.3/3.4 warn first).
RSpec.describe "the gemspec's runtime dependencies" do
  # The gems of each Ruby's NEWS "bundled gems promoted from default gems" (require path's first segment => gem).
  moved_out = {
    "3.4" => %w[abbrev base64 bigdecimal csv drb getoptlong mutex_m nkf observer resolv-replace rinda syslog],
    "4.0" => %w[benchmark fiddle irb logger ostruct pstore rdoc readline reline win32ole]
  }.values.flatten.freeze

  root = File.expand_path("..", __dir__)
  required = Dir[File.join(root, "lib", "**", "*.rb")].flat_map do |file|
    File.read(file).scan(/^\s*require\s*\(?\s*["']([^"']+)["']/).flatten.map { |path| [path.split("/").first, file] }
  end

  it "name every moved-out standard library that lib/ requires" do
    spec = Gem::Specification.load(File.join(root, "agent_sdk.gemspec"))
    declared = spec.runtime_dependencies.map(&:name)
    missing = required.select { |gem, _| moved_out.include?(gem) && !declared.include?(gem) }
    expect(missing.map { |gem, file| "#{gem} (#{file.delete_prefix("#{root}/")})" }).to eq([])
  end

  it "finds the requires it checks" do
    expect(required.map(&:first)).to include("logger", "json")
  end

  it "are satisfied by what Ruby 3.1 ships" do
    spec = Gem::Specification.load(File.join(root, "agent_sdk.gemspec"))
    spec.runtime_dependencies.each do |dep|
      expect(Gem::Specification.find_all_by_name(dep.name).any? { |s| dep.match?(s) }).to be(true), dep.to_s
    end
  end
end
