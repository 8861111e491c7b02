# frozen_string_literal: true

require "digest"
require "fileutils"
require_relative "builder"

module AgentSDKSpec
  # A `rails new` app (RailsApp's base) made into one a person would click through: `rails g agent_sdk:install`,
  # `agent_sdk:scaffold` and `agent_sdk:dashboard` (mounted at /agents), one user always signed in, a support agent
  # with two tools, the model a local Messages API server (AGENT_SDK_BASE_URL), SQLite.
  # Shared by the browser specs (spec/browser) and `bin/demo rails`.
  #
  # How its processes talk is chosen when each starts, by REDIS_URL:
  # - with it, ActionCable broadcasts through Redis and Active Job enqueues to Sidekiq, so a job run by
  #   `bundle exec sidekiq` in another process reaches the page the server shows (the browser specs);
  # - without, both stay in the server's process (:async jobs, the async cable adapter): `bin/demo rails`.
  class LiveApp
    GENERATORS = File.join(RailsApp::GEM_ROOT, "lib", "generators")
    MARKER = ".agent_sdk_live_app"

    attr_reader :dir, :rails_app

    def initialize(rails_app)
      @rails_app = rails_app
    end

    # What the app is made from: the base app, this file, the generators' templates. A kept app (bin/demo rails)
    # with another key is made again.
    def key
      inputs = [rails_app.key, File.read(__FILE__)] +
               Dir.glob(File.join(GENERATORS, "**", "*")).sort.select { |f| File.file?(f) }.map { |f| f + File.read(f) }
      Digest::SHA256.hexdigest(inputs.join("\0"))[0, 16]
    end

    # The spec run's app: a fresh copy of the base app, made live.
    def prepare
      rails_app.prepare
      @dir = rails_app.app_dir
      make_live
      self
    end

    # A kept app at `path` (bin/demo rails): made when missing or made from something else, else reused as it is.
    def keep_at(path)
      @dir = path
      marker = File.join(path, MARKER)
      return self if File.exist?(marker) && File.read(marker) == key

      rails_app.copy_to(path)
      make_live
      File.write(marker, key)
      self
    end

    def make_live
      rails_app.install
      rails_app.scaffold
      dashboard
      sign_in
      write_agent
      configure
      write("db/seeds.rb", "# The user the sessions belong to.\nUser.find_or_create_by!(name: \"Ada\")\n")
      rails_app.command!("db:prepare db:seed", "bin/rails", "db:prepare", "db:seed")
    end

    # `bin/rails runner CODE` in the app (its own boot): what it printed.
    def runner(code, name: "bin/rails runner")
      rails_app.command!(name, "bin/rails", "runner", code)
    end

    def env
      rails_app.env
    end

    def path(relative)
      File.join(dir, relative)
    end

    private

    def dashboard
      out = rails_app.command!("rails g agent_sdk:dashboard", "bin/rails", "generate", "agent_sdk:dashboard")
      return if out.match?(/^\s*route\s+mount RubyLLM::AgentSDK::Dashboard::Engine/)

      raise RailsApp::StepFailed, "rails g agent_sdk:dashboard did not mount the engine:\n#{out}"
    end

    # What the scaffold's before_action :authenticate_user! and current_user need (Devise's names): here the app's one
    # user, always signed in.
    def sign_in
      edit("app/controllers/application_controller.rb") do |text|
        text.sub(/^end\s*\z/, <<~RUBY)

            # This app's one user, always signed in (a real app signs its users in: Devise, Rails 8's authentication).
            helper_method :current_user

            private

            def current_user
              @current_user ||= User.find_by!(name: "Ada")
            end

            def authenticate_user!
              current_user
            end
          end
        RUBY
      end
    end

    # The support agent of bin/demo: what AgentJob runs with (a system prompt, two Ruby tools).
    def write_agent
      write("app/tools/lookup_order.rb", <<~RUBY)
        class LookupOrder < RubyLLM::AgentSDK::Tool
          description "Look up an order by its number: customer, total and tracking number"
          param :order_number, :string, required: true, description: "like ORD-1042"

          ORDERS = { "ORD-1042" => { "customer" => "Ada Lovelace", "total_cents" => 12_900, "tracking" => "1Z999AA10123456784" } }.freeze

          def call(order_number:)
            ORDERS.fetch(order_number) { raise KeyError, "no order \#{order_number}" }
          end
        end
      RUBY
      write("app/tools/check_shipment_status.rb", <<~RUBY)
        class CheckShipmentStatus < RubyLLM::AgentSDK::Tool
          description "The carrier's status of a shipment"
          param :tracking_number, :string, required: true

          def call(tracking_number:)
            { "tracking_number" => tracking_number, "status" => "lost in transit", "last_scan" => "3 days ago" }
          end
        end
      RUBY
      edit("app/jobs/agent_job.rb") do |text|
        text.sub(/^  # Options for this app's runs.*?^  # end\n/m, <<~RUBY.gsub(/^/, "  "))
          # The support agent: its instructions and tools, over config.agent_sdk's defaults.
          def build_options(_session)
            { system_prompt: "You are a support agent for a web shop. Use the tools; be brief.",
              tools: [LookupOrder, CheckShipmentStatus], max_turns: 8 }
          end
        RUBY
      end
    end

    def configure
      edit("config/initializers/agent_sdk.rb") do |text|
        text + <<~RUBY

          # The model: a local Messages API server (bin/demo rails and the browser specs start one) when
          # AGENT_SDK_BASE_URL names it, else Anthropic's with ANTHROPIC_API_KEY.
          RubyLLM::AgentSDK.configure do |config|
            config.transport = :api
            config.model = "claude-haiku-4-5"
            config.query_options = { base_url: ENV["AGENT_SDK_BASE_URL"], api_key: ENV["ANTHROPIC_API_KEY"] }.compact
            config.heartbeat_interval = 1 # a cancel reaches a run waiting on the model within a second
          end
        RUBY
      end
      write("config/cable.yml", <<~YAML)
        development:
        <% if ENV["REDIS_URL"] %>
          adapter: redis
          url: <%= ENV["REDIS_URL"] %>
          channel_prefix: app_development
        <% else %>
          adapter: async
        <% end %>

        test:
          adapter: test

        production:
          adapter: redis
          url: <%= ENV.fetch("REDIS_URL") { "redis://localhost:6379/1" } %>
          channel_prefix: app_production
      YAML
      edit("config/environments/development.rb") do |text|
        text.sub(/\nend\s*\z/, <<~RUBY.gsub(/^(?=.)/, "  ").prepend("\n").concat("end\n"))

          # With REDIS_URL, jobs go to Sidekiq (another process runs them) and broadcasts through Redis (cable.yml);
          # without, both stay in this process.
          config.active_job.queue_adapter = ENV["REDIS_URL"] ? :sidekiq : :async
          # The pages are served on 127.0.0.1 too (Action Cable accepts only localhost in development).
          config.action_cable.allowed_request_origins = [%r{\\Ahttp://(localhost|127\\.0\\.0\\.1)(:\\d+)?\\z}]
        RUBY
      end
    end

    def write(relative, content)
      FileUtils.mkdir_p(File.dirname(path(relative)))
      File.write(path(relative), content)
    end

    def edit(relative)
      before = File.read(path(relative))
      after = yield before
      raise RailsApp::StepFailed, "#{relative}: the edit changed nothing (its text is not what was expected)" if after == before

      File.write(path(relative), after)
    end
  end
end
