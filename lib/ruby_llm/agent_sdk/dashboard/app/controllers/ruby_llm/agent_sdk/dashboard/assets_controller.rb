# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      # GET /turbo.js — turbo-rails' own build (Turbo with its Action Cable stream source), so the live transcript
      # works whatever the app bundles its JavaScript with (importmap, jsbundling, none).
      class AssetsController < ApplicationController
        skip_forgery_protection if respond_to?(:skip_forgery_protection)

        def turbo
          path = ::Turbo::Engine.root.join("app/assets/javascripts/turbo.min.js") if defined?(::Turbo::Engine)
          return head :not_found unless path && File.file?(path)

          expires_in 1.day, public: false
          send_file path, type: "text/javascript", disposition: "inline"
        end
      end
    end
  end
end
