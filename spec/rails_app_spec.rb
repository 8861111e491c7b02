# frozen_string_literal: true

require_relative "rails_app/builder"

# A real app: `rails new` (gems from the registry, the base app cached in tmp/rails_app), this checkout by path,
# `rails g agent_sdk:install`, `rails g agent_sdk:scaffold`, db:migrate, then the app's own rspec: seed 000's AgentJob
# spec verbatim, a job spec that runs the real claude CLI against the fake Messages API server, and request specs of
# the scaffold's pages and API (spec/rails_app/*.txt are those files).
RSpec.describe "a Rails app made with rails new", :rails_app do
  app = nil
  output = nil
  status = nil

  before(:context) do
    extension = Dir.glob(File.join(AgentSDKSpec::RailsApp::GEM_ROOT, "lib/agent_sdk/agent_sdk.{so,bundle}")).first
    raise "the C extension is not compiled in #{AgentSDKSpec::RailsApp::GEM_ROOT}: bundle exec rake compile" unless extension

    app = AgentSDKSpec::RailsApp.new.prepare
    @install_output = app.install
    @scaffold_output = app.scaffold
    app.tool_executions
    app.add_specs
    app.migrate
    output, status = app.rspec
  end

  after(:context) do
    next unless app

    RSpec.configuration.reporter.message(
      "rails app (#{app.base_dir.delete_prefix("#{AgentSDKSpec::RailsApp::GEM_ROOT}/")}): " +
      app.timings.map { |step, seconds| format("%s %.1fs", step, seconds) }.join(", ")
    )
    app.cleanup if status&.success?
  end

  it "installs: the generator writes every file and says what to do next" do
    expect(@install_output).to include("bin/rails db:migrate")
    expect(app.read("app/models/agent_session.rb")).to include("belongs_to :user, optional: true")
    expect(app.read("db/schema.rb")).to include('create_table "agent_sessions"', 'create_table "agent_messages"',
                                                't.json "tool_calls", default: []')
  end

  it "runs the generator again without changing anything: identical files, a changed one reported and kept" do
    edited = "#{app.read('app/jobs/agent_job.rb')}\nAgentJob.queue_as :slow_agents # the app's own change\n"
    app.write("app/jobs/agent_job.rb", edited)
    migrations = app.glob("db/migrate/*_create_agent_*.rb").sort
    out = app.generate
    expect(out).to match(%r{^\s*conflict\s+app/jobs/agent_job\.rb})
    expect(out.scan(/^\s*identical\s/).size).to eq(7), out
    expect(out).not_to match(/^\s*(create|force)\s/)
    expect(app.read("app/jobs/agent_job.rb")).to eq(edited)
    expect(app.glob("db/migrate/*_create_agent_*.rb").sort).to eq(migrations)
  end

  it "scaffolds: the pages, the Stimulus controller picked up by the importmap, the API, routes and the user's association" do
    expect(@scaffold_output).to include("before_action :authenticate_user!", "generate_token_for(:agent_api)")
    expect(@scaffold_output).not_to match(/^\s*(conflict|skip)\s/)
    expect(app.read("app/controllers/agent_sessions_controller.rb"))
      .to include("before_action :authenticate_user!", "current_user.agent_sessions")
    expect(app.read("app/javascript/controllers/index.js")).to include("eagerLoadControllersFrom") # no line added
    expect(app.read("app/javascript/controllers/index.js")).not_to include("agent_session_controller")
    imports = app.importmap.fetch("imports")
    expect(imports).to include("controllers/agent_session_controller", "@hotwired/turbo-rails") # what the controller imports
    expect(app.read("config/routes.rb").scan("resources :agent_sessions").size).to eq(1)
    expect(app.read("app/models/user.rb")).to include("has_many :agent_sessions, dependent: :destroy",
                                                      "generates_token_for :agent_api")
    again = app.generate("rails g agent_sdk:scaffold again", generator: "agent_sdk:scaffold")
    expect(again.scan(/^\s*identical\s/).size).to eq(14), again
    expect(again).not_to match(/^\s*(create|force|conflict|insert|route)\s/)
  end

  it "passes the app's rspec: seed 000's AgentJob spec verbatim, the real-CLI job spec, the scaffold's request specs" do
    expect(app.read("spec/jobs/agent_job_spec.rb"))
      .to eq(File.read(File.join(AgentSDKSpec::RailsApp::FILES, "seed_000_agent_job_spec.rb.txt")))
    expect(status).to be_success, "the app's bundle exec rspec exited #{status.exitstatus} (the app is kept in #{app.dir}):\n#{output}"
    cli = ENV["CLAUDE_CLI"] || File.join(AgentSDKSpec::RailsApp::GEM_ROOT, "vendor/cli/node_modules/.bin/claude")
    if File.executable?(cli) || ENV["AGENT_SDK_REQUIRE_CLI"]
      expect(output).to match(/^20 examples, 0 failures$/), output
    else
      expect(output).to match(/^20 examples, 0 failures, 1 pending$/), output
    end
  end
end
