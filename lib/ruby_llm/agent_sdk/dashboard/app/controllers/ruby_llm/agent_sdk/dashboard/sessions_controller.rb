# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      # GET /sessions — the runs, newest first, filtered, a keyset page at a time; GET /sessions/:id — one run's
      # transcript, live (turbo_stream_from the session); POST /sessions/:id/cancel — SessionRecord#cancel!.
      class SessionsController < ApplicationController
        def index
          @filter = Filter.new(filter_params)
          per = AgentSDK.config.dashboard_per_page.to_i.clamp(1, 500)
          @sessions, @next_cursor = @filter.page(@filter.apply(session_class.all), per: per, before: params[:before])
        end

        def show
          @session = session_class.find(params[:id])
          @messages = @session.agent_messages.delivered
          # as Turbo Streams with after=<message id>: the page catching up once its stream is subscribed
          @messages = @messages.where(id: params[:after].to_i.next..) if params[:after].present?
          @approvals = @session.awaiting_approval? ? @session.pending_approvals : []
        end

        def cancel
          session = session_class.find(params[:id])
          status = session.cancel!
          notice = status == "running" ? "Cancel requested: the run stops at its next message." : "Session #{status}."
          redirect_to session_path(session), notice: notice
        end
      end
    end
  end
end
