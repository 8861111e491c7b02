# frozen_string_literal: true

require "digest"
require "fileutils"
require "json"
require "open3"
require "rbconfig"

module AgentSDKSpec
  # A real Rails app, made with `rails new`, with this checkout in its Gemfile (spec/rails_app_spec.rb).
  #
  # The base app — `rails new`, the Gemfile, `bundle install`, rspec:install, a User model — is made once and kept in
  # the git-ignored tmp/rails_app/base-<key>, where <key> digests what it is made from (this file, the gemspec, the
  # Rails and Ruby versions), so a rerun on the same machine skips it; CI starts clean and makes it. Each run copies it
  # and does the part under test on the copy: `rails g agent_sdk:install`, db:migrate, the app's own rspec.
  class RailsApp
    GEM_ROOT = File.expand_path("../..", __dir__)
    FILES = __dir__
    # The Rails of this checkout's bundle (7.2.4 on Ruby 3.1), so `rails _<version>_ new` finds it installed.
    RAILS_VERSION = ENV["AGENT_SDK_RAILS_APP_VERSION"] || Gem.loaded_specs["railties"]&.version&.to_s || "7.2.4"
    NEW_FLAGS = %w[-d sqlite3 --skip-git --skip-docker --skip-rubocop --skip-brakeman --skip-ci --skip-system-test
                   --skip-jbuilder --skip-action-mailbox --skip-action-text --skip-active-storage --skip-bootsnap].freeze
    # Gems the app gets besides rails new's own. debug is dropped: a dev tool these specs never load that compiles a
    # C extension on a fresh machine.
    GEMFILE_ADDITIONS = <<~RUBY

      gem "agent_sdk", path: #{GEM_ROOT.dump}

      group :development, :test do
        gem "rspec-rails"
        gem "factory_bot_rails"
      end

      # The browser specs (spec/browser): broadcasts and jobs across processes, through one Redis.
      gem "redis", ">= 4"
      gem "sidekiq", ">= 7.2", "< 9"
    RUBY
    INSTALLED = %w[db/migrate/\d{14}_create_agent_sessions\.rb db/migrate/\d{14}_create_agent_messages\.rb
                   app/models/agent_session\.rb app/models/agent_message\.rb app/jobs/agent_job\.rb
                   config/initializers/agent_sdk\.rb app/views/agent_sessions/_message\.html\.erb
                   app/views/agent_sessions/_status\.html\.erb].freeze
    SCAFFOLDED = %w[app/controllers/agent_sessions_controller\.rb app/helpers/agent_sessions_helper\.rb
                    app/views/agent_sessions/index\.html\.erb app/views/agent_sessions/show\.html\.erb
                    app/views/agent_sessions/create\.turbo_stream\.erb
                    app/javascript/controllers/agent_session_controller\.js
                    app/controllers/api/v1/agents_controller\.rb].freeze

    class StepFailed < StandardError; end

    attr_reader :timings, :dir

    def initialize(root: File.join(GEM_ROOT, "tmp", "rails_app"))
      @root = root
      @timings = {}
      @dir = File.join(root, "run-#{Process.pid}")
    end

    def key
      inputs = [File.read(__FILE__), File.read(File.join(GEM_ROOT, "agent_sdk.gemspec")), RAILS_VERSION, RUBY_VERSION,
                RUBY_PLATFORM, GEM_ROOT]
      Digest::SHA256.hexdigest(inputs.join("\0"))[0, 16]
    end

    def base_dir
      File.join(@root, "base-#{key}")
    end

    # The run's app: a copy of the base app (made first when there is none for this key).
    def prepare
      build_base unless base_complete?
      remove_stale_runs
      FileUtils.rm_rf(dir)
      FileUtils.mkdir_p(dir)
      time("copy base app") { FileUtils.cp_r(File.join(base_dir, "app"), dir, preserve: true) }
      @app = File.join(dir, "app")
      self
    end

    # A copy of the base app at `path` that no run removes (bin/demo rails keeps its app), replacing what is there.
    def copy_to(path)
      build_base unless base_complete?
      FileUtils.rm_rf(path)
      FileUtils.mkdir_p(File.dirname(path))
      time("copy base app") { FileUtils.cp_r(File.join(base_dir, "app"), path, preserve: true) }
      @app = path
      self
    end

    # Where the app of this run is (after prepare or copy_to).
    def app_dir
      @app
    end

    def generate(name = "rails g agent_sdk:install again", generator: "agent_sdk:install")
      run!(name, "bin/rails", "generate", generator)
    end

    def install
      out = generate("rails g agent_sdk:install")
      raise StepFailed, "the generator was not found:\n#{out}" if out.include?("Could not find generator")

      missing = INSTALLED.reject { |path| out.match?(/^\s*create\s+#{path}$/) }
      raise StepFailed, "rails g agent_sdk:install did not create #{missing.join(', ')}:\n#{out}" unless missing.empty?

      out
    end

    # rails g agent_sdk:scaffold (after install): the pages, the Stimulus controller, the API, their routes.
    def scaffold
      out = generate("rails g agent_sdk:scaffold", generator: "agent_sdk:scaffold")
      missing = SCAFFOLDED.reject { |path| out.match?(/^\s*create\s+#{path}$/) }
      raise StepFailed, "rails g agent_sdk:scaffold did not create #{missing.join(', ')}:\n#{out}" unless missing.empty?

      out
    end

    # The agent_tool_executions table (rails g agent_sdk:tool_executions): runs can pause for approvals.
    def tool_executions
      generate("rails g agent_sdk:tool_executions", generator: "agent_sdk:tool_executions")
    end

    # What the browser's import map resolves (bin/importmap json): {"imports" => {name => asset path}}.
    def importmap
      JSON.parse(run!("bin/importmap json", "bin/importmap", "json"))
    end

    # The app's specs, and the sign-in the scaffold's before_action :authenticate_user! and current_user need (what
    # Devise would give a real app): the SignedIn concern in ApplicationController, POST /sign_in.
    def add_specs
      FileUtils.cp(File.join(FILES, "signed_in.rb.txt"), File.join(@app, "app/controllers/concerns/signed_in.rb"))
      FileUtils.cp(File.join(FILES, "sign_ins_controller.rb.txt"), File.join(@app, "app/controllers/sign_ins_controller.rb"))
      edit("app/controllers/application_controller.rb", /^class ApplicationController < ActionController::Base\n/,
           "\\0  include SignedIn\n")
      edit("config/routes.rb", /^Rails\.application\.routes\.draw do\n/,
           "\\0  resource :sign_in, only: :create # the test app's sign-in (SignedIn)\n")
      FileUtils.mkdir_p(File.join(@app, "spec/requests/api/v1"))
      FileUtils.cp(File.join(FILES, "agent_sessions_request_spec.rb.txt"), File.join(@app, "spec/requests/agent_sessions_spec.rb"))
      FileUtils.cp(File.join(FILES, "api_agents_request_spec.rb.txt"), File.join(@app, "spec/requests/api/v1/agents_spec.rb"))
      write("spec/factories/agent_sessions.rb", <<~RUBY)
        FactoryBot.define do
          factory :agent_session do
            user
            prompt { "Summarise the open tickets" }
          end
        end
      RUBY
      FileUtils.mkdir_p(File.join(@app, "spec/jobs"))
      FileUtils.cp(File.join(FILES, "seed_000_agent_job_spec.rb.txt"), File.join(@app, "spec/jobs/agent_job_spec.rb"))
      FileUtils.cp(File.join(FILES, "agent_job_real_cli_spec.rb.txt"), File.join(@app, "spec/jobs/agent_job_real_cli_spec.rb"))
    end

    # The test database too, in the same boot (else rspec-rails' maintain_test_schema boots the app again for it).
    def migrate
      run!("db:migrate", "bin/rails", "db:migrate", "db:test:prepare")
    end

    # The app's `bundle exec rspec`: [output, Process::Status].
    def rspec
      time("app rspec") { capture("bundle", "exec", "rspec", chdir: @app) }
    end

    # A command in the app (unbundled from this checkout's Gemfile): its output; raises StepFailed unless it succeeds.
    def command!(name, *command)
      run!(name, *command)
    end

    def read(path)
      File.read(File.join(@app, path))
    end

    def write(path, content)
      File.write(File.join(@app, path), content)
    end

    def glob(pattern)
      Dir.glob(File.join(@app, pattern)).map { |path| path.delete_prefix("#{@app}/") }
    end

    def edit(path, pattern, replacement)
      text = read(path)
      raise StepFailed, "#{path} has no #{pattern.inspect}" unless text.match?(pattern)

      write(path, text.sub(pattern, replacement))
    end

    def cleanup
      FileUtils.rm_rf(dir)
    end

    def env
      env = { "BUNDLE_GEMFILE" => nil, "BUNDLE_BUILD__NOKOGIRI" => "--use-system-libraries",
              "BUNDLE_BUILD__SQLITE3" => "--enable-system-libraries", "BUNDLE_SILENCE_ROOT_WARNING" => "1",
              "BUNDLE_JOBS" => ENV.fetch("BUNDLE_JOBS", "2"), "RAILS_ENV" => nil, "RACK_ENV" => nil,
              "DISABLE_SPRING" => "1" }
      # Where gems go when the default gem directory is not this user's to write (else Bundler asks for sudo).
      env["BUNDLE_PATH"] = File.join(@root, "bundle") unless File.writable?(Gem.dir)
      env
    end

    private

    def base_complete?
      File.exist?(File.join(base_dir, "app", ".agent_sdk_base_complete"))
    end

    def build_base
      FileUtils.mkdir_p(@root)
      Dir.glob(File.join(@root, "base-*")).each { |old| FileUtils.rm_rf(old) } # another key's: stale
      staging = File.join(@root, "staging-#{Process.pid}")
      FileUtils.rm_rf(staging)
      FileUtils.mkdir_p(staging)
      @app = File.join(staging, "app")
      # --skip-bundle, then what rails new would run after its bundle install: one resolution for every gem.
      rails = ENV.fetch("AGENT_SDK_RAILS", "rails")
      run!("rails new", rails, "_#{RAILS_VERSION}_", "new", @app, *NEW_FLAGS, "--skip-bundle", "--quiet", chdir: staging)
      gemfile = File.read(File.join(@app, "Gemfile"))
      gemfile = gemfile.sub(/^\s*# See https:[^\n]*debugging[^\n]*\n\s*gem "debug"[^\n]*\n/, "")
      write("Gemfile", gemfile + GEMFILE_ADDITIONS)
      bundle_install
      run!("importmap/turbo/stimulus install", "bin/rails", "importmap:install", "turbo:install", "stimulus:install")
      expect_output(run!("rspec:install", "bin/rails", "generate", "rspec:install"), %r{create\s+spec/rails_helper\.rb})
      out = run!("User model", "bin/rails", "generate", "model", "User", "name:string")
      expect_output(out, %r{create\s+app/models/user\.rb}, %r{create\s+spec/factories/users\.rb})
      FileUtils.rm_f(File.join(@app, "spec/models/user_spec.rb")) # rspec-rails' pending placeholder
      helper = read("spec/rails_helper.rb")
      helper = helper.sub(/^RSpec\.configure do \|config\|\n/) { "#{_1}  config.include FactoryBot::Syntax::Methods\n\n" }
      raise StepFailed, "spec/rails_helper.rb has no RSpec.configure block" unless helper.include?("FactoryBot::Syntax")

      write("spec/rails_helper.rb", helper)
      File.write(File.join(@app, ".agent_sdk_base_complete"), timings.to_a.inspect)
      FileUtils.mv(staging, base_dir) unless File.exist?(base_dir) # another process may have made it meanwhile
    ensure
      FileUtils.rm_rf(staging) if staging && File.exist?(staging)
    end

    # Runs of processes that are gone (a failed run keeps its app to look at, until the next run).
    def remove_stale_runs
      Dir.glob(File.join(@root, "{run,staging}-*")).each do |path|
        pid = Integer(path[/-(\d+)\z/, 1], exception: false)
        next if pid.nil? || pid == Process.pid

        begin
          Process.kill(0, pid)
        rescue Errno::ESRCH
          FileUtils.rm_rf(path)
        rescue Errno::EPERM
          nil # alive, someone else's
        end
      end
    end

    # Installed gems first (no network when the machine has them all), the registry for the rest.
    def bundle_install
      time("bundle install") do
        out, status = capture("bundle", "install", "--local", chdir: @app)
        out, status = capture("bundle", "install", chdir: @app) unless status.success?
        raise StepFailed, "bundle install failed:\n#{out}" unless status.success?
      end
    end

    def expect_output(out, *patterns)
      missing = patterns.reject { |pattern| out.match?(pattern) }
      raise StepFailed, "expected #{missing.map(&:inspect).join(', ')} in:\n#{out}" unless missing.empty?
    end

    def run!(name, *command, chdir: @app)
      out, status = time(name) { capture(*command, chdir: chdir) }
      raise StepFailed, "#{name} (#{command.join(' ')}) failed with #{status.exitstatus}:\n#{out}" unless status.success?

      out
    end

    def capture(*command, chdir:)
      run = -> { Open3.capture2e(env, *command, chdir: chdir) }
      defined?(Bundler) ? Bundler.with_unbundled_env(&run) : run.call
    end

    def time(name)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      result = yield
      @timings[name] = (@timings[name] || 0) + Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      result
    end
  end
end
