# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/dashboard_seeds"

# The SQL the dashboard's main pages run reads agent_sessions and agent_messages through indexes: every statement a
# page sends (captured from sql.active_record, not typed again here) is EXPLAINed with its binds. SQLite: no plan
# line scans either table without an index (`SCAN agent_sessions` bare; `SCAN … USING INDEX` stops at the LIMIT).
# PostgreSQL: with enable_seqscan off for the transaction (a few hundred rows would make a sequential scan the
# cheaper plan anyway), no `Seq Scan` on them: the planner only falls back to one when no index can serve.
RSpec.describe "the dashboard's queries", :rails, type: :request do
  include DashboardSeeds
  include ActiveSupport::Testing::TimeHelpers

  TABLES = /\b(agent_sessions|agent_messages)\b/

  let(:today) { Date.new(2026, 6, 10) }
  let(:postgresql) { AgentSession.connection_db_config.adapter.match?(/postg/i) }

  around { |example| travel_to(Time.utc(2026, 6, 10, 15)) { example.run } }

  before do
    seed_runs(today, count: 300)
    connection = AgentSession.connection
    postgresql ? connection.execute("SET LOCAL enable_seqscan = off") : connection.execute("ANALYZE")
  end

  # The statements a request sends that read the dashboard's tables.
  def queries_of(path, params = {})
    queries = []
    callback = lambda do |*, payload|
      next if payload[:name] == "SCHEMA" || payload[:cached]
      next unless payload[:sql].match?(/\A\s*(SELECT|WITH)\b/i) && payload[:sql].match?(TABLES)

      queries << [payload[:sql], payload[:binds] || []]
    end
    ActiveSupport::Notifications.subscribed(callback, "sql.active_record") { get path, params: params }
    expect(response).to have_http_status(:ok), path
    queries
  end

  def plan(sql, binds)
    AgentSession.connection.explain(sql, binds)
  end

  # The plan's lines that read a whole table: what the indexes are there to prevent.
  def full_scans(plan)
    if postgresql
      plan.lines.grep(/Seq Scan on (agent_sessions|agent_messages)\b/)
    else
      plan.lines.grep(/\bSCAN (agent_sessions|agent_messages|m)\b(?!.*\bUSING (COVERING )?INDEX\b)/)
    end
  end

  it "flags a query no index serves (the check itself)" do
    sql = AgentSession.where(prompt: "Run 1").to_sql
    expect(full_scans(plan(sql, []))).not_to be_empty
  end

  pages = {
    "the overview" => ["/agents", {}],
    "the overview, one model and user over two days" => ["/agents", { model: "claude-haiku", user: "1", from: "2026-06-09", to: "2026-06-10" }],
    "the overview of failed runs on cli" => ["/agents", { status: "failed", transport: "cli" }],
    "the runs list" => ["/agents/sessions", {}],
    "the runs list by status" => ["/agents/sessions", { status: "failed" }],
    "the runs list by model" => ["/agents/sessions", { model: "claude-haiku" }],
    "the runs list by transport" => ["/agents/sessions", { transport: "api" }],
    "the runs list by date" => ["/agents/sessions", { from: "2026-06-09", to: "2026-06-09" }]
  }
  pages.each do |name, (path, params)|
    it "#{name} (#{path} #{params.to_query}) reads through indexes" do
      params = params.merge(user: User.first.id.to_s) if params.key?(:user)
      queries = queries_of(path, params)
      expect(queries.size).to be >= (path == "/agents" ? 4 : 1) # the overview: percentiles, cost by day, tool counts, failure reasons
      queries.each do |sql, binds|
        text = plan(sql, binds)
        puts sql, text if ENV["SHOW_PLANS"]
        expect(full_scans(text)).to eq([]), "#{sql}\n#{text}"
      end
    end
  end

  it "the runs list's next page (keyset) and the users filter read through indexes" do
    RubyLLM::AgentSDK.config.dashboard_per_page = 20
    get "/agents/sessions", params: { user: User.first.id }
    older = Nokogiri::HTML(response.body).at_css("a#agent_page_older")["href"]
    queries_of(older).each do |sql, binds|
      expect(full_scans(plan(sql, binds))).to eq([]), sql
    end
  ensure
    RubyLLM::AgentSDK.config.dashboard_per_page = 50
  end

  it "a session's page reads its row and its messages through indexes" do
    session = AgentSession.order(:id).last
    queries = queries_of("/agents/sessions/#{session.id}")
    expect(queries.size).to be >= 2
    queries.each { |sql, binds| expect(full_scans(plan(sql, binds))).to eq([]), sql }
  end
end
