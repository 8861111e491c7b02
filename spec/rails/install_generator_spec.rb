# frozen_string_literal: true

require "stringio"
require "active_record"
require "rails"
require "generators/agent_sdk/install/install_generator"
require "generators/agent_sdk/tool_executions/tool_executions_generator"
require "generators/agent_sdk/dashboard/dashboard_generator"

RSpec.describe RubyLLM::AgentSDK::Generators::InstallGenerator do
  let(:app) { Dir.mktmpdir("agent_sdk_install") }

  after { FileUtils.rm_rf(app) }

  # A minimal app: what the generator reads (config/database.yml) and where it writes.
  def skeleton(adapter: "sqlite3")
    FileUtils.mkdir_p(File.join(app, "config"))
    FileUtils.mkdir_p(File.join(app, "db/migrate"))
    database = adapter == "sqlite3" ? "storage/development.sqlite3" : "app_development"
    File.write(File.join(app, "config/database.yml"), <<~YAML)
      default: &default
        adapter: #{adapter}
        pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>

      development:
        <<: *default
        database: #{database}

      test:
        <<: *default
        database: #{database.sub('development', 'test')}
    YAML
  end

  def generate(*args)
    capture_stdout { described_class.start(args, destination_root: app) }
  end

  def capture_stdout
    out = StringIO.new
    stdout = $stdout
    $stdout = out
    yield
    out.string
  ensure
    $stdout = stdout
  end

  def read(path) = File.read(File.join(app, path))

  def migrations = Dir.glob(File.join(app, "db/migrate/*.rb")).sort.map { |f| File.basename(f) }

  def migration(name) = File.read(Dir.glob(File.join(app, "db/migrate/*_#{name}.rb")).fetch(0))

  def snapshot
    Dir.glob(File.join(app, "**/*"), File::FNM_DOTMATCH).select { |f| File.file?(f) }.sort.to_h { |f| [f, File.binread(f)] }
  end

  # Loads both migrations into an in-memory SQLite database (after a users / accounts table, as the app has) and
  # returns its connection.
  def run_migrations(owner_table: :users, id: :primary_key, database: { adapter: "sqlite3", database: ":memory:" })
    migrations_record.establish_connection(database)
    connection = migrations_record.connection
    connection.create_table(owner_table, id: id) { |t| t.string :name } if owner_table
    verbose = ActiveRecord::Migration.verbose
    ActiveRecord::Migration.verbose = false
    Dir.glob(File.join(app, "db/migrate/*.rb")).sort.each do |file|
      scope = Module.new # its classes are defined in here, not at the top level (spec/dummy has its own)
      scope.module_eval(File.read(file), file)
      scope.constants.each { |name| scope.const_get(name).new.exec_migration(connection, :up) }
    end
    connection
  ensure
    ActiveRecord::Migration.verbose = verbose unless verbose.nil?
  end

  def column(connection, table, name) = connection.columns(table).find { |c| c.name == name.to_s }

  def indexes(connection, table) = connection.indexes(table).to_h { |i| [i.columns, i.unique] }

  # The connection the generated migrations run on: its own, so no other spec's ActiveRecord::Base is touched.
  # Made on first use: loading ActiveRecord::Base fixes Rails.env, and spec/rails_helper sets it after this file loads.
  def migrations_record
    return InstallGeneratorSpecRecord if defined?(InstallGeneratorSpecRecord)

    Object.const_set(:InstallGeneratorSpecRecord, Class.new(ActiveRecord::Base) { self.abstract_class = true })
  end

  after { migrations_record.remove_connection if defined?(InstallGeneratorSpecRecord) }

  SESSION_COLUMNS = %w[id user_id claude_session_id status transport model_id prompt result failure_reason error_message
                       total_cost_usd num_turns input_tokens output_tokens cache_read_tokens cache_creation_tokens started_at
                       finished_at heartbeat_at claimed_by claimed_at cancel_requested_at recoveries metadata created_at
                       updated_at].freeze
  MESSAGE_COLUMNS = %w[id agent_session_id position message_type subtype content uuid tool_calls metadata raw pending
                       created_at updated_at].freeze

  context "in a SQLite app" do
    before { skeleton }

    it "writes the migrations, models, job, initializer and partials, and says what to do next" do
      out = generate
      expect(migrations).to match([/\A\d{14}_create_agent_sessions\.rb\z/, /\A\d{14}_create_agent_messages\.rb\z/])
      expect(migrations[0].to_i).to be < migrations[1].to_i # agent_messages references agent_sessions
      %w[app/models/agent_session.rb app/models/agent_message.rb app/jobs/agent_job.rb config/initializers/agent_sdk.rb
         app/views/agent_sessions/_message.html.erb app/views/agent_sessions/_status.html.erb].each do |path|
        expect(out).to match(/create\s+#{Regexp.escape(path)}/)
      end
      expect(out).to include("bin/rails db:migrate", "queue_adapter")
    end

    it "writes migrations with every column and index, in the app's migration version, and they run" do
      generate
      version = "#{ActiveRecord::VERSION::MAJOR}.#{ActiveRecord::VERSION::MINOR}"
      sessions = migration("create_agent_sessions")
      messages = migration("create_agent_messages")
      expect(sessions).to start_with("class CreateAgentSessions < ActiveRecord::Migration[#{version}]\n")
      expect(messages).to start_with("class CreateAgentMessages < ActiveRecord::Migration[#{version}]\n")
      expect(sessions).to include("t.references :user, index: false, foreign_key: true", "t.json :metadata, default: {}",
                                  't.string :status, null: false, default: "pending"',
                                  "t.decimal :total_cost_usd, precision: 12, scale: 6, default: 0")
      expect(messages).to include("t.references :agent_session, null: false, index: false, foreign_key: true",
                                  "t.json :tool_calls, default: []", "t.json :metadata, default: {}")
      expect(sessions + messages).not_to include("jsonb", "id: :uuid", "type: :uuid")

      connection = run_migrations
      expect(connection.columns(:agent_sessions).map(&:name)).to match_array(SESSION_COLUMNS)
      expect(connection.columns(:agent_messages).map(&:name)).to match_array(MESSAGE_COLUMNS)
      status = column(connection, :agent_sessions, :status)
      expect([status.type, status.default, status.null]).to eq([:string, "pending", false])
      cost = column(connection, :agent_sessions, :total_cost_usd)
      expect([cost.type, cost.precision, cost.scale, cost.default]).to eq([:decimal, 12, 6, "0.0"])
      expect(column(connection, :agent_sessions, :num_turns).default).to eq("0")
      recoveries = column(connection, :agent_sessions, :recoveries)
      expect([recoveries.type, recoveries.default, recoveries.null]).to eq([:integer, "0", false])
      %i[input_tokens output_tokens cache_read_tokens cache_creation_tokens].each do |name|
        expect([column(connection, :agent_sessions, name).sql_type, column(connection, :agent_sessions, name).default])
          .to eq(["bigint", "0"]), name.to_s
      end
      expect(column(connection, :agent_sessions, :metadata).type).to eq(:json)
      expect(column(connection, :agent_messages, :tool_calls).default).to eq("[]")
      expect(%i[position message_type agent_session_id].map { |n| column(connection, :agent_messages, n).null }).to eq([false] * 3)
      expect(indexes(connection, :agent_sessions)).to eq(
        ["claude_session_id"] => false, %w[status heartbeat_at] => false, %w[user_id status] => false, ["created_at"] => false,
        %w[status created_at] => false, %w[model_id created_at] => false, %w[transport created_at] => false,
        %w[user_id created_at] => false
      )
      expect(indexes(connection, :agent_messages)).to eq(
        %w[agent_session_id position] => true, ["uuid"] => false, %w[agent_session_id message_type] => false
      )
      expect(connection.foreign_keys(:agent_messages).map(&:to_table)).to eq(["agent_sessions"])
      expect(connection.foreign_keys(:agent_sessions).map(&:to_table)).to eq(["users"])
    end

    it "writes the models and the job in the plan's shape" do
      generate
      expect(read("app/models/agent_session.rb")).to eq(<<~RUBY)
        class AgentSession < ApplicationRecord
          include RubyLLM::AgentSDK::ActiveRecord::SessionRecord

          belongs_to :user, optional: true
          has_many :agent_messages, -> { order(:position) }, dependent: :destroy
        end
      RUBY
      expect(read("app/models/agent_message.rb")).to eq(<<~RUBY)
        class AgentMessage < ApplicationRecord
          include RubyLLM::AgentSDK::ActiveRecord::MessageRecord

          belongs_to :agent_session
        end
      RUBY
      job = read("app/jobs/agent_job.rb")
      expect(job).to start_with("class AgentJob < ApplicationJob\n  include RubyLLM::AgentSDK::ActiveJob::SessionJob\n\n" \
                                "  queue_as :agents\n")
      expect(job).to include("  # def build_options(session)\n  #   { cwd: Rails.root.to_s, allowed_tools: %w[Read Glob Grep] }\n" \
                             "  # end\n")
      %w[app/models/agent_session.rb app/models/agent_message.rb app/jobs/agent_job.rb].each do |path|
        expect { RubyVM::InstructionSequence.compile(read(path)) }.not_to raise_error
      end
    end

    it "comments every configuration key in the initializer, at its default" do
      generate
      initializer = read("config/initializers/agent_sdk.rb")
      expect(initializer).to match(/\A(#.*\n)*RubyLLM::AgentSDK\.configure do \|config\|\n/)
      RubyLLM::AgentSDK::Configuration::DEFAULTS.each do |key, default|
        shown = { "[]" => "[]", "{}" => "{}" }.fetch(default.inspect, default.inspect)
        expect(initializer).to match(/^  # [^\n]+\n  # config\.#{key} = #{Regexp.escape(shown)}\n/), key.to_s
      end
      expect(initializer.scan(/^  # config\.(\w+) =/).flatten).to match_array(RubyLLM::AgentSDK::Configuration::DEFAULTS.keys.map(&:to_s))
      # Loading it changes nothing: every line is a comment.
      config = RubyLLM::AgentSDK::Configuration.new
      allow(RubyLLM::AgentSDK).to receive(:config).and_return(config)
      eval(initializer, binding, "agent_sdk.rb") # rubocop:disable Security/Eval -- the generated file, as Rails loads it
      expect(config.inspect).to eq(RubyLLM::AgentSDK::Configuration.new.inspect)
    end

    it "is idempotent: a second run finds every file identical and writes no migration" do
      generate
      before = snapshot
      out = generate
      expect(snapshot).to eq(before)
      expect(migrations.size).to eq(2)
      statuses = out.lines.filter_map { |line| line[/\A\s*(\w+)\s+\S/, 1] if line.match?(%r{\A\s*\w+\s+(db|app|config)/}) }
      expect(statuses.uniq).to eq(["identical"])
      expect(statuses.size).to eq(8)
    end

    it "reports a file that differs as a conflict and keeps it; --force overwrites it" do
      generate
      edited = "class AgentJob < ApplicationJob\n  # mine\nend\n"
      File.write(File.join(app, "app/jobs/agent_job.rb"), edited)
      sessions_migration = Dir.glob(File.join(app, "db/migrate/*_create_agent_sessions.rb")).first
      File.write(sessions_migration, "# edited\n#{File.read(sessions_migration)}")
      edited_migration = File.read(sessions_migration)

      out = generate
      expect(out).to match(%r{conflict\s+app/jobs/agent_job\.rb})
      expect(out).to match(%r{conflict\s+db/migrate/\d+_create_agent_sessions\.rb})
      expect(out).to match(%r{identical\s+app/models/agent_session\.rb})
      expect(read("app/jobs/agent_job.rb")).to eq(edited)
      expect(File.read(sessions_migration)).to eq(edited_migration)
      expect(migrations.size).to eq(2)

      out = generate("--force")
      expect(out).to match(%r{force\s+app/jobs/agent_job\.rb})
      expect(read("app/jobs/agent_job.rb")).to include("SessionJob")
      expect(File.read(sessions_migration)).not_to include("# edited")
      expect(migrations.size).to eq(2)
    end

    it "--user-model=Account references accounts and makes the account the sessions' owner" do
      generate("--user-model=Account")
      sessions = migration("create_agent_sessions")
      expect(sessions).to include("t.references :account, index: false, foreign_key: true",
                                  "add_index :agent_sessions, [:account_id, :status]")
      expect(sessions).not_to include(":user")
      model = read("app/models/agent_session.rb")
      expect(model).to include("belongs_to :account, optional: true\n", "self.agent_owner = :account")
      expect(model).not_to include(":user")

      connection = run_migrations(owner_table: :accounts)
      expect(connection.columns(:agent_sessions).map(&:name)).to include("account_id")
      expect(connection.columns(:agent_sessions).map(&:name)).not_to include("user_id")
      expect(indexes(connection, :agent_sessions)).to include(%w[account_id status] => false)
      expect(connection.foreign_keys(:agent_sessions).map(&:to_table)).to eq(["accounts"])
    end

    it "--user-model=Admin::User names the class and the table" do
      generate("--user-model=Admin::User")
      expect(migration("create_agent_sessions")).to include("t.references :admin_user, index: false, " \
                                                            "foreign_key: { to_table: :admin_users }")
      expect(read("app/models/agent_session.rb")).to include('belongs_to :admin_user, optional: true, class_name: "Admin::User"')
      connection = run_migrations(owner_table: :admin_users)
      expect(connection.foreign_keys(:agent_sessions).map(&:to_table)).to eq(["admin_users"])
    end

    it "--skip-user writes no owner reference at all" do
      generate("--skip-user")
      sessions = migration("create_agent_sessions")
      expect(sessions).not_to match(/user|owner/)
      expect(read("app/models/agent_session.rb")).not_to match(/belongs_to|agent_owner/)
      connection = run_migrations(owner_table: nil)
      expect(connection.columns(:agent_sessions).map(&:name)).to match_array(SESSION_COLUMNS - ["user_id"])
      expect(indexes(connection, :agent_sessions).keys)
        .to match_array([["claude_session_id"], %w[status heartbeat_at], ["created_at"], %w[status created_at],
                         %w[model_id created_at], %w[transport created_at]])
      expect(connection.foreign_keys(:agent_sessions)).to eq([])
    end

    it "gives the tables uuid keys when the app's generators say so" do
      generators = Rails::Configuration::Generators.new
      generators.orm :active_record, primary_key_type: :uuid # config.generators { |g| g.orm :active_record, primary_key_type: :uuid }
      allow(Rails).to receive(:application).and_return(double(config: double(generators: generators)))
      generate
      sessions = migration("create_agent_sessions")
      messages = migration("create_agent_messages")
      expect(sessions).to include("create_table :agent_sessions, id: :uuid do |t|",
                                  "t.references :user, index: false, type: :uuid, foreign_key: true")
      expect(messages).to include("create_table :agent_messages, id: :uuid do |t|",
                                  "t.references :agent_session, null: false, index: false, type: :uuid, foreign_key: true")
      connection = run_migrations(id: :uuid)
      %i[agent_sessions agent_messages].each { |table| expect(column(connection, table, :id).sql_type).to eq("uuid") }
      expect(column(connection, :agent_messages, :agent_session_id).sql_type).to eq("uuid")
      expect(column(connection, :agent_sessions, :user_id).sql_type).to eq("uuid")
    end

    it "uses the default integer keys when the app's generators say nothing" do
      allow(Rails).to receive(:application).and_return(double(config: double(generators: Rails::Configuration::Generators.new)))
      generate
      expect(migration("create_agent_sessions")).to include("create_table :agent_sessions do |t|")
    end
  end

  describe "the agent_tool_executions table (side-effect tools)" do
    before { skeleton }

    it "--tool-executions adds its migration, which runs with a unique key per session" do
      generate("--tool-executions")
      expect(migrations.map { |m| m.sub(/\A\d+_/, "") })
        .to eq(%w[create_agent_sessions.rb create_agent_messages.rb create_agent_tool_executions.rb])
      connection = run_migrations
      expect(connection.columns(:agent_tool_executions).map(&:name))
        .to eq(%w[id agent_session_id key tool_name input status result is_error finished_at created_at updated_at])
      expect(indexes(connection, :agent_tool_executions)).to eq(%w[agent_session_id key] => true)
      expect(connection.foreign_keys(:agent_tool_executions).map(&:to_table)).to eq(["agent_sessions"])
    end

    it "agent_sdk:tool_executions writes only that migration, once" do
      generate
      tool_executions = RubyLLM::AgentSDK::Generators::ToolExecutionsGenerator
      run = -> { capture_stdout { tool_executions.start([], destination_root: app) } }
      expect(run.call).to match(%r{create\s+db/migrate/\d+_create_agent_tool_executions\.rb})
      expect(run.call).to match(%r{identical\s+db/migrate/\d+_create_agent_tool_executions\.rb})
      expect(migrations.size).to eq(3)
      expect(Rails::Generators.find_by_namespace("agent_sdk:tool_executions")).to eq(tool_executions)
    end
  end

  describe "agent_sdk:dashboard (an app installed before the dashboard)" do
    before do
      skeleton
      File.write(File.join(app, "config/routes.rb"), "Rails.application.routes.draw do\n  root \"home#show\"\nend\n")
    end

    let(:dashboard) { RubyLLM::AgentSDK::Generators::DashboardGenerator }

    def generate_dashboard(*args) = capture_stdout { dashboard.start(args, destination_root: app) }

    it "adds the dashboard's indexes in a migration and mounts the engine, once" do
      generate
      old = migration("create_agent_sessions").gsub(/^.*add_index :agent_sessions, \[:(status|model_id|transport|user_id), :created_at\]\n/, "")
      File.write(Dir.glob(File.join(app, "db/migrate/*_create_agent_sessions.rb")).fetch(0), old)
      expect(generate_dashboard).to match(%r{create\s+db/migrate/\d+_add_agent_dashboard_indexes\.rb}).and include("dashboard_authorize")
      before = snapshot
      expect(generate_dashboard).to match(%r{identical\s+db/migrate/\d+_add_agent_dashboard_indexes\.rb})
      expect(snapshot).to eq(before)
      expect(read("config/routes.rb").scan('mount RubyLLM::AgentSDK::Dashboard::Engine, at: "/agents"').size).to eq(1)
      expect(migrations.size).to eq(3)
      connection = run_migrations
      expect(indexes(connection, :agent_sessions)).to include(
        %w[status created_at] => false, %w[model_id created_at] => false, %w[transport created_at] => false,
        %w[user_id created_at] => false, ["created_at"] => false
      )
      expect(Rails::Generators.find_by_namespace("agent_sdk:dashboard")).to eq(dashboard)
    end

    it "runs on an app whose install has the indexes already, and mounts where --path says" do
      generate
      generate_dashboard("--path=/ops/agents")
      expect(read("config/routes.rb")).to include('mount RubyLLM::AgentSDK::Dashboard::Engine, at: "/ops/agents"')
      expect { run_migrations }.not_to raise_error
    end
  end

  context "in a PostgreSQL app" do
    before { skeleton(adapter: "postgresql") }

    it "uses jsonb for metadata and tool_calls" do
      generate
      expect(migration("create_agent_sessions")).to include("t.jsonb :metadata, default: {}")
      expect(migration("create_agent_messages")).to include("t.jsonb :tool_calls, default: []", "t.jsonb :metadata, default: {}")
      expect(migration("create_agent_sessions") + migration("create_agent_messages")).not_to match(/t\.json /)
    end

    describe "the recovery schedule (Solid Queue's config/recurring.yml)" do
      let(:entry) { { "class" => "RubyLLM::AgentSDK::ActiveJob::RecoveryJob", "schedule" => "every minute" } }

      def recurring = YAML.safe_load(read("config/recurring.yml"))

      it "adds agent_sdk_recovery under production: of the file Solid Queue installed, once" do
        File.write(File.join(app, "config/recurring.yml"), <<~YAML)
          # examples:
          #   periodic_cleanup:
          #     class: CleanSoftDeletedRecordsJob

          production:
            clear_solid_queue_finished_jobs:
              command: "SolidQueue::Job.clear_finished_in_batches(sleep_between_batches: 0.3)"
              schedule: every hour at minute 12
        YAML
        out = generate
        expect(out).to match(%r{insert\s+config/recurring\.yml})
        expect(recurring["production"].keys).to eq(%w[agent_sdk_recovery clear_solid_queue_finished_jobs])
        expect(recurring["production"]["agent_sdk_recovery"]).to eq(entry)
        before = snapshot
        expect(generate).to match(%r{identical\s+config/recurring\.yml \(agent_sdk_recovery\)})
        expect(snapshot).to eq(before)
      end

      it "writes config/recurring.yml in an app with Solid Queue and none yet" do
        File.write(File.join(app, "Gemfile"), "source \"https://rubygems.org\"\ngem \"solid_queue\"\n")
        out = generate
        expect(out).to match(%r{create\s+config/recurring\.yml})
        expect(recurring).to eq("production" => { "agent_sdk_recovery" => entry })
        expect(out).not_to include("agent_sdk:recover")
        before = snapshot
        generate
        expect(snapshot).to eq(before)
      end

      it "appends a production: section to a file that has none" do
        File.write(File.join(app, "config/recurring.yml"), "development:\n  noop:\n    command: \"1\"\n    schedule: every day\n")
        generate
        expect(recurring.keys).to eq(%w[development production])
        expect(recurring["production"]).to eq("agent_sdk_recovery" => entry)
      end

      it "says how to add it when the app has no Solid Queue (or a production: it cannot edit)" do
        out = generate
        expect(File.exist?(File.join(app, "config/recurring.yml"))).to be(false)
        expect(out).to include("RubyLLM::AgentSDK::ActiveJob::RecoveryJob", "agent_sdk_recovery:", "schedule: every minute",
                               "bin/rails agent_sdk:recover")
        File.write(File.join(app, "config/recurring.yml"), "production: &production\n  x:\n    command: \"1\"\n")
        out = generate
        expect(out).to match(%r{skip\s+config/recurring\.yml}).and include("bin/rails agent_sdk:recover")
        expect(read("config/recurring.yml")).not_to include("agent_sdk_recovery")
      end
    end

    it "finds the adapter in a multi-database config and in a DATABASE_URL-style url" do
      File.write(File.join(app, "config/database.yml"), <<~YAML)
        development:
          primary:
            url: postgres://localhost/app_development
          queue:
            adapter: sqlite3
            database: storage/queue.sqlite3
        test:
          primary:
            url: postgres://localhost/app_test
      YAML
      generate
      expect(migration("create_agent_messages")).to include("t.jsonb :tool_calls")
    end
  end

  context "in a PostgreSQL app, migrated on a real server" do
    # No fixture transaction (when spec/rails_helper is loaded too): it would be opened on the connection to the
    # database made here, which is dropped before the example's teardown.
    self.use_transactional_tests = false if respond_to?(:use_transactional_tests=)

    before { skeleton(adapter: "postgresql") }

    # A database of its own on the specs' PostgreSQL server (spec/support/servers.rb; a skip when there is none,
    # a failure under AGENT_SDK_REQUIRE_SERVERS=1).
    def on_postgresql
      server = postgresql_server
      name = "agent_sdk_generator_#{Process.pid}_#{rand(1 << 30)}"
      url = server.create_database(name)
      yield url
    ensure
      migrations_record.remove_connection if defined?(InstallGeneratorSpecRecord)
      server&.drop_database(name)
    end

    it "runs, with jsonb metadata and tool_calls" do
      generate
      on_postgresql do |url|
        connection = run_migrations(database: url)
        expect(column(connection, :agent_sessions, :metadata).sql_type).to eq("jsonb")
        expect(column(connection, :agent_messages, :tool_calls).sql_type).to eq("jsonb")
        expect(column(connection, :agent_messages, :metadata).sql_type).to eq("jsonb")
        expect(column(connection, :agent_messages, :tool_calls).default).to eq("[]")
        expect(column(connection, :agent_sessions, :metadata).default).to eq("{}")
        expect(indexes(connection, :agent_messages)).to include(%w[agent_session_id position] => true)
        expect(connection.foreign_keys(:agent_sessions).map(&:to_table)).to eq(["users"])
      end
    end

    it "runs with uuid keys, generated by the database" do
      generators = Rails::Configuration::Generators.new
      generators.orm :active_record, primary_key_type: :uuid
      allow(Rails).to receive(:application).and_return(double(config: double(generators: generators)))
      generate
      on_postgresql do |url|
        connection = run_migrations(id: :uuid, database: url)
        expect(column(connection, :agent_sessions, :id).sql_type).to eq("uuid")
        expect(column(connection, :agent_messages, :agent_session_id).sql_type).to eq("uuid")
        user = connection.select_value("INSERT INTO users (name) VALUES ('u') RETURNING id")
        session = connection.select_value("INSERT INTO agent_sessions (user_id, created_at, updated_at) " \
                                          "VALUES ('#{user}', now(), now()) RETURNING id")
        expect(session).to match(/\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/)
        expect(connection.select_value("SELECT metadata::text FROM agent_sessions")).to eq("{}")
      end
    end
  end

  context "in a MySQL app" do
    before { skeleton(adapter: "trilogy") }

    it "writes json columns without a literal default (MySQL refuses one)" do
      generate
      expect(migration("create_agent_sessions")).to include("t.json :metadata\n")
      expect(migration("create_agent_messages")).to include("t.json :tool_calls\n", "t.json :metadata\n")
    end
  end

  it "is found by Rails as agent_sdk:install" do
    expect(Rails::Generators.find_by_namespace("agent_sdk:install")).to eq(described_class)
  end
end
