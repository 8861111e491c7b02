# frozen_string_literal: true

require "fileutils"
require "stringio"
require "tmpdir"

module AgentSDKSpec
  # The dummy app's databases, fresh for each rspec process: SQLite files in a new directory under tmp/ (default), or
  # two new databases on PostgreSQL (AGENT_SDK_DB=postgresql; the server at PG_PORT, else the one
  # AgentSDKSpec::Servers starts). `configure_env` runs before the app boots (its database.yml reads the ENV it sets,
  # and so do the worker processes the specs start); `prepare` creates and migrates after.
  module DummyDatabase
    DUMMY_ROOT = File.expand_path("../../dummy", __dir__)

    class << self
      def postgresql?
        ENV["AGENT_SDK_DB"] == "postgresql"
      end

      def configure_env
        return if @configured

        @configured = true
        if postgresql?
          @external_pg = !ENV["PG_PORT"].nil?
          unless @external_pg
            server = AgentSDKSpec::Servers.postgresql
            ENV["PG_HOST"] = server.host
            ENV["PG_PORT"] = server.port.to_s
            ENV["PG_USER"] = server.user
          end
          ENV["AGENT_SDK_PG_DATABASE"] ||= "agent_sdk_test_#{Process.pid}"
        else
          base = File.join(AgentSDKSpec::ROOT, "tmp", "db")
          FileUtils.mkdir_p(base)
          prune(base)
          ENV["AGENT_SDK_DB_DIR"] ||= Dir.mktmpdir("dummy-#{Process.pid}-", base)
          dir = ENV["AGENT_SDK_DB_DIR"]
          owner = Process.pid
          at_exit { FileUtils.rm_rf(dir) if Process.pid == owner }
        end
      end

      # Creates both databases (dropping leftovers of the same name on PostgreSQL) and loads their schemas the way
      # `bin/rails db:prepare` does: the primary from db/migrate, the queue from db/queue_schema.rb (what
      # `rails solid_queue:install` gives an app).
      def prepare
        return if @prepared

        @prepared = true
        tasks = ::ActiveRecord::Tasks::DatabaseTasks
        # What the db:load_config rake task sets.
        tasks.root = DUMMY_ROOT
        tasks.env = ::Rails.env
        tasks.db_dir = File.join(DUMMY_ROOT, "db")
        tasks.migrations_paths = [File.join(DUMMY_ROOT, "db", "migrate")]
        ::ActiveRecord::Migrator.migrations_paths = tasks.migrations_paths
        tasks.seed_loader = ::Rails.application
        ::ActiveRecord::Migration.verbose = false
        quietly do
          configs.each { |db_config| tasks.drop(db_config) } if postgresql?
          tasks.prepare_all
        end
        # PostgreSQL's drop/create tasks leave ActiveRecord::Base connected to the "postgres" database.
        ::ActiveRecord::Base.establish_connection
        drop_at_exit if postgresql? && @external_pg # a cluster of our own goes away whole
      end

      def configs
        ::ActiveRecord::Base.configurations.configs_for(env_name: ::Rails.env)
      end

      def queue_config
        configs.find { |c| c.name == "queue" }
      end

      # The tables a spec that commits may have filled (not the schema's bookkeeping, not Solid Queue's process rows:
      # a worker that is running keeps its own).
      def truncate
        primary = ::ActiveRecord::Base.connection_pool
        primary.with_connection { |c| c.truncate_tables(*(c.tables - internal_tables(c))) }
        return unless defined?(::SolidQueue::Record)

        ::SolidQueue::Record.connection_pool.with_connection do |c|
          c.truncate_tables(*(c.tables - internal_tables(c) - ["solid_queue_processes"]))
        end
      end

      private

      # Directories of rspec processes that died without their at_exit hooks (a forced quit).
      def prune(base)
        Dir[File.join(base, "dummy-*-*")].each do |dir|
          pid = File.basename(dir)[/\Adummy-(\d+)-/, 1].to_i
          next if pid == Process.pid

          Process.kill(0, pid)
        rescue Errno::ESRCH
          FileUtils.rm_rf(dir)
        rescue Errno::EPERM
          nil
        end
      end

      def internal_tables(connection)
        [::ActiveRecord::Base.schema_migrations_table_name, ::ActiveRecord::Base.internal_metadata_table_name] &
          connection.tables
      end

      def drop_at_exit
        owner = Process.pid
        at_exit do
          next unless Process.pid == owner

          ::ActiveRecord::Base.connection_handler.clear_all_connections!(:all)
          quietly { configs.each { |c| ::ActiveRecord::Tasks::DatabaseTasks.drop(c) } }
        rescue StandardError => e
          warn "dropping the dummy's databases: #{e.class}: #{e.message}"
        end
      end

      # DatabaseTasks prints "Created database …" to $stdout.
      def quietly
        stdout = $stdout
        $stdout = StringIO.new
        yield
      ensure
        $stdout = stdout
      end
    end
  end
end
