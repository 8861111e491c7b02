# frozen_string_literal: true

# The page a session's broadcasts go to: its stored messages, then whatever the job appends live.
class AgentSessionsController < ApplicationController
  def show
    @session = AgentSession.find(params[:id])
  end
end
