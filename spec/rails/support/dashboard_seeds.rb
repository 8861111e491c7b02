# frozen_string_literal: true

require_relative "../../support/rails/dashboard_rows"

# The dashboard specs' rows (AgentSDKSpec::DashboardRows: 60 sessions over 3 days, two users) and percentile_cont
# computed in Ruby, to check the pages' numbers against.
module DashboardSeeds
  def seed_runs(today, count: 60)
    users = [User.create!, User.create!]
    AgentSDKSpec::DashboardRows.insert(sessions: AgentSession, messages: AgentMessage, count: count, today: today,
                                       days: 3, user_ids: users.map(&:id), seed: 2026)
  end

  # PostgreSQL's percentile_cont(p): the value at rank p·(n−1) of the sorted values, interpolated.
  def percentile(values, p)
    sorted = values.sort
    rank = p * (sorted.size - 1)
    low = rank.floor
    high = [low + 1, sorted.size - 1].min
    sorted[low] + ((sorted[high] - sorted[low]) * (rank - low))
  end
end
