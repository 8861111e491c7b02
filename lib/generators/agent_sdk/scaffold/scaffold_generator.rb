# frozen_string_literal: true

require "active_support/core_ext/object/blank"
require "active_support/core_ext/string/inflections"
require "rails/generators"
require_relative "../file_writing"

module RubyLLM
  module AgentSDK
    module Generators
      # rails g agent_sdk:scaffold [--auth=authenticate_user!] [--current-user=current_user] [--user-model=User]
      #                            [--skip-api] [--force]
      #
      # The pages and the JSON API a person uses sessions through, on top of agent_sdk:install's models, job and
      # partials: AgentSessionsController (index, show, create, resume, cancel, approve, reject) and its views, the
      # agent-session Stimulus controller, Api::V1::AgentsController, their routes, and the user model's
      # has_many :agent_sessions (every record is found through it: another user's session is a 404) and
      # generates_token_for :agent_api (the API's bearer tokens). Idempotent like agent_sdk:install.
      class ScaffoldGenerator < ::Rails::Generators::Base
        include FileWriting

        namespace "agent_sdk:scaffold"
        source_root File.expand_path("templates", __dir__)

        desc "Creates AgentSessionsController and its views, the agent-session Stimulus controller, " \
             "Api::V1::AgentsController and their routes (run agent_sdk:install first)."

        class_option :auth, type: :string,
                            desc: "The before_action that signs the user in (none: no before_action; default: " \
                                  "authenticate_user!, or require_authentication in an app made with Rails 8's " \
                                  "authentication generator)"
        class_option :current_user, type: :string,
                                    desc: "What returns the signed-in user (default: current_user, or Current.user " \
                                          "with Rails 8's authentication generator)"
        class_option :user_model, type: :string, default: "User", desc: "The model that owns sessions"
        class_option :skip_api, type: :boolean, default: false, desc: "No Api::V1::AgentsController"

        VIEWS = %w[index.html.erb show.html.erb show.turbo_stream.erb _agent_session.html.erb _form.html.erb
                   _approval.html.erb create.turbo_stream.erb].freeze
        STIMULUS = "app/javascript/controllers/agent_session_controller.js"
        STIMULUS_MANIFEST = "app/javascript/controllers/index.js"

        def create_controller
          install_file "agent_sessions_controller.rb.tt", "app/controllers/agent_sessions_controller.rb"
          install_file "agent_sessions_helper.rb.tt", "app/helpers/agent_sessions_helper.rb"
        end

        def create_views
          VIEWS.each { |view| install_file "#{view}.tt", "app/views/agent_sessions/#{view}" }
        end

        def create_stimulus_controller
          install_file "agent_session_controller.js.tt", STIMULUS
          register_stimulus_controller
        end

        def create_api_controller
          install_file "api_agents_controller.rb.tt", "app/controllers/api/v1/agents_controller.rb" unless options[:skip_api]
        end

        def add_routes
          return if behavior == :revoke

          add_route(/^\s*resources :agent_sessions\b/, "agent_sessions", <<~RUBY.chomp)
            resources :agent_sessions, only: %i[index show create] do
              member do
                post :resume
                post :cancel
                post :approve
                post :reject
              end
            end
          RUBY
          return if options[:skip_api]

          add_route(/^\s*resources :agents\b/, "api/v1/agents", "resources :agents, only: %i[create show]",
                    namespace: %i[api v1])
        end

        def add_to_user_model
          return if behavior == :revoke

          path = "app/models/#{user_model.underscore}.rb"
          unless File.exist?(File.join(destination_root, path))
            @user_model_by_hand = true
            return
          end

          text = File.read(File.join(destination_root, path))
          lines = []
          lines << "  has_many :agent_sessions, dependent: :destroy\n" unless text.match?(/^\s*has_many :agent_sessions\b/)
          if !options[:skip_api] && !text.match?(/^\s*generates_token_for :agent_api\b/)
            lines << "  generates_token_for :agent_api # Api::V1::AgentsController's bearer tokens\n"
          end
          if lines.empty?
            say_status :identical, "#{path} (has_many :agent_sessions)", :blue
          else
            inject_into_class path, user_model.demodulize, lines.join
          end
        end

        def show_next_steps
          return if behavior == :revoke

          say <<~TEXT

            agent_sdk:scaffold is done: #{auth_call ? "sessions are behind before_action :#{auth_call}" : 'no before_action signs users in (--auth=none)'}, found through #{current_user_call}.agent_sessions.
              Pages: /agent_sessions (list, new), /agent_sessions/:id (live transcript, resume, cancel, approvals).
          TEXT
          unless options[:skip_api]
            say <<~TEXT
              API: POST /api/v1/agents (prompt=…, wait=true to answer with the result), GET /api/v1/agents/:id,
                   with "Authorization: Bearer <token>" where token = #{user_model}.find(…).generate_token_for(:agent_api)
                   (Api::V1::AgentsController#user_for_api_token finds the user: change it to your own tokens).
            TEXT
          end
          if @user_model_by_hand
            say "  No app/models/#{user_model.underscore}.rb: give your user model has_many :agent_sessions" \
                "#{options[:skip_api] ? '' : ' and generates_token_for :agent_api'}.\n"
          end
          say "  Register app/javascript/controllers/agent_session_controller.js as \"agent-session\" " \
              "in your Stimulus application.\n" if @stimulus_by_hand
        end

        private

        # -- what the templates ask -------------------------------------------------------------------------------

        # The before_action's method name, or nil (--auth=none).
        def auth_call
          value = options[:auth].presence || (rails_authentication? ? "require_authentication" : "authenticate_user!")
          %w[none false skip].include?(value) ? nil : value
        end

        def current_user_call
          options[:current_user].presence || (rails_authentication? ? "Current.user" : "current_user")
        end

        def user_model
          options[:user_model].camelize
        end

        # Rails 8's `bin/rails generate authentication`: its concern, required in every controller, and Current.user.
        def rails_authentication?
          path = File.join(destination_root, "app/controllers/concerns/authentication.rb")
          File.exist?(path) && File.read(path).include?("def require_authentication")
        end

        # -- JavaScript -----------------------------------------------------------------------------------------------

        def importmap?
          File.exist?(File.join(destination_root, "config/importmap.rb"))
        end

        # importmap: app/javascript/controllers/index.js loads every controller in the folder (eagerLoadControllersFrom
        # / lazyLoadControllersFrom). jsbundling: the manifest imports each one, as `bin/rails stimulus:manifest:update`
        # writes it; the controller's two lines are added to it.
        def register_stimulus_controller
          path = File.join(destination_root, STIMULUS_MANIFEST)
          unless File.exist?(path)
            @stimulus_by_hand = true
            return
          end
          text = File.read(path)
          return if text.match?(/(eager|lazy)LoadControllersFrom\(/) && importmap?

          if text.include?('from "./agent_session_controller"')
            say_status :identical, "#{STIMULUS_MANIFEST} (agent-session)", :blue
          else
            append_to_file STIMULUS_MANIFEST, <<~JS
              \nimport AgentSessionController from "./agent_session_controller"
              application.register("agent-session", AgentSessionController)
            JS
          end
        end

        # -- routes -----------------------------------------------------------------------------------------------------

        def add_route(present, name, code, namespace: nil)
          routes = File.join(destination_root, "config/routes.rb")
          if File.exist?(routes) && File.read(routes).match?(present)
            say_status :identical, "config/routes.rb (#{name})", :blue
          else
            route code, namespace: namespace
          end
        end
      end
    end
  end
end
