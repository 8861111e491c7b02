# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"
require_relative "support/dashboard_seeds"

# The operations dashboard (RubyLLM::AgentSDK::Dashboard::Engine, mounted at /agents in spec/dummy): every page on
# seeded rows, its numbers checked against the same rows aggregated in Ruby; filters, keyset pagination, the SVG
# plot, threshold colouring, the session page's buttons and who may see any of it.
RSpec.describe "the dashboard", :rails, type: :request do
  include AgentConfigHelpers
  include DashboardSeeds
  include ActiveSupport::Testing::TimeHelpers

  let(:today) { Date.new(2026, 6, 10) }

  around { |example| travel_to(Time.utc(2026, 6, 10, 15)) { example.run } }

  def html = Nokogiri::HTML(response.body)

  def metric(name) = html.at_css("#metric_#{name}")

  describe "the overview (GET /agents)" do
    before { seed_runs(today) }

    it "shows p50/p95 turns and cost per finished run, as percentile_cont over the same rows" do
      get "/agents"
      expect(response).to have_http_status(:ok)
      finished = AgentSession.where(status: %w[completed failed cancelled])
      turns = finished.pluck(:num_turns).map(&:to_f)
      costs = finished.pluck(:total_cost_usd).map(&:to_f)
      expect(html.at_css("#agent_finished_runs").text).to eq(finished.count.to_s)
      { "p50_turns" => percentile(turns, 0.5), "p95_turns" => percentile(turns, 0.95),
        "p50_cost_usd" => percentile(costs, 0.5), "p95_cost_usd" => percentile(costs, 0.95) }.each do |name, value|
        expect(metric(name)["data-value"].to_f).to be_within(1e-9).of(value), name
      end
    end

    it "plots cost per day and model: one bar segment per (day, model), the sums of the rows" do
      get "/agents"
      expected = AgentSession.all.group_by { |s| [s.created_at.utc.to_date.iso8601, s.model_id] }
                             .transform_values { |rows| rows.sum { |s| s.total_cost_usd.to_f } }
      bars = html.css("svg#agent_cost_plot rect.agent-plot-bar")
      expect(bars.size).to eq(expected.size)
      bars.each do |bar|
        expect(bar["data-cost"].to_f).to be_within(1e-9).of(expected.fetch([bar["data-day"], bar["data-model"]]))
      end
      expect(html.css("#agent_cost_legend li").map { |li| li["data-model"] }).to eq(expected.keys.map(&:last).uniq.sort)
      # server-rendered: the page's only script is Turbo (for the session page's live transcript)
      expect(html.css("script").map { |script| script["src"] }).to eq(["/agents/turbo.js"])
    end

    it "shows the tool error rate per tool from the messages' calls and error results" do
      get "/agents"
      calls = Hash.new(0)
      errors = Hash.new(0)
      AgentMessage.find_each do |row|
        Array(row.tool_calls).each { |c| calls[c["name"]] += 1 } if row.message_type == "assistant"
        Array(row.metadata["tool_errors"]).each { |name| errors[name] += 1 } if row.message_type == "user"
      end
      rows = html.css("#agent_tool_errors tbody tr").to_h do |tr|
        [tr["data-tool"], [tr.at_css("[data-calls]").text.to_i, tr.at_css("[data-errors]").text.to_i]]
      end
      expect(rows).to eq(calls.keys.to_h { |name| [name, [calls[name], errors[name]]] })
      expect(metric(:tool_error_rate)["data-value"].to_f).to be_within(1e-9).of(errors.values.sum.fdiv(calls.values.sum))
    end

    it "groups the failed runs by failure reason, most frequent first" do
      get "/agents"
      expected = AgentSession.where(status: "failed").group_by(&:failure_reason).transform_values(&:size)
                             .sort_by { |reason, n| [-n, reason] }
      shown = html.css("#agent_failure_reasons tbody tr").map { |tr| [tr["data-reason"], tr.at_css("[data-count]").text.to_i] }
      expect(shown).to eq(expected)
    end

    it "colours a metric that drifts past its threshold from the config" do
      with_agent_config(dashboard_p95_turns: 100, dashboard_p95_cost_usd: 0.0001, dashboard_tool_error_rate: 0.99) do
        get "/agents"
      end
      expect(metric(:p95_turns)["class"]).to include("agent-metric--ok")
      expect(metric(:p95_cost_usd)["class"]).to include("agent-metric--drift")
      expect(metric(:p95_cost_usd)["data-drift"]).to eq("true")
      expect(metric(:tool_error_rate)["class"]).to include("agent-metric--ok")
      with_agent_config(dashboard_p95_turns: 1, dashboard_tool_error_rate: 0.01) { get "/agents" }
      expect(metric(:p95_turns)["class"]).to include("agent-metric--drift")
      expect(metric(:tool_error_rate)["class"]).to include("agent-metric--drift")
      expect(metric(:tool_error_rate_read)["class"]).to include("agent-metric--drift")
    end

    it "applies the filters to every aggregate (model, transport, user, status, dates)" do
      user = User.first
      get "/agents", params: { model: "claude-haiku", transport: "api", user: user.id, from: (today - 1).iso8601,
                               to: today.iso8601 }
      scope = AgentSession.where(model_id: "claude-haiku", transport: "api", user_id: user.id)
                          .where(created_at: Time.utc(2026, 6, 9)...Time.utc(2026, 6, 11))
      expect(scope.count).to be_positive
      expect(html.at_css("#agent_total_runs").text).to eq(scope.count.to_s)
      expect(html.css("svg#agent_cost_plot rect.agent-plot-bar").map { |b| b["data-model"] }.uniq).to eq(["claude-haiku"])
      get "/agents", params: { status: "failed" }
      expect(html.at_css("#agent_total_runs").text).to eq(AgentSession.where(status: "failed").count.to_s)
    end

    it "covers the last config.dashboard_days days without a date filter" do
      with_agent_config(dashboard_days: 1) { get "/agents" }
      expect(html.css("svg#agent_cost_plot rect.agent-plot-bar").map { |b| b["data-day"] }.uniq).to eq([today.iso8601])
      expect(html.at_css("#agent_total_runs").text)
        .to eq(AgentSession.where(created_at: Time.utc(2026, 6, 10)..).count.to_s)
    end
  end

  describe "the runs list (GET /agents/sessions)" do
    before { seed_runs(today) }

    def shown_ids = html.css("#agent_runs tbody tr").map { |tr| tr["data-session-id"].to_i }

    it "lists the runs newest first, a keyset page at a time, every run exactly once" do
      ids = []
      with_agent_config(dashboard_per_page: 4) do
        get "/agents/sessions"
        loop do
          ids.concat(shown_ids)
          older = html.at_css("a#agent_page_older") or break
          expect(shown_ids.size).to eq(4)
          get older["href"]
        end
      end
      expect(ids).to eq(AgentSession.order(created_at: :desc, id: :desc).ids)
      expect(html.at_css("a#agent_page_newest")).not_to be_nil
    end

    it "filters by status, model, transport, user and date" do
      user = User.first
      { { status: "failed" } => AgentSession.where(status: "failed"),
        { model: "claude-haiku" } => AgentSession.where(model_id: "claude-haiku"),
        { transport: "cli" } => AgentSession.where(transport: "cli"),
        { user: user.id } => AgentSession.where(user_id: user.id),
        { from: today.iso8601, to: today.iso8601 } => AgentSession.where(created_at: Time.utc(2026, 6, 10)..) }
        .each do |params, scope|
          get "/agents/sessions", params: params
          expect(shown_ids).to match_array(scope.ids), params.inspect
          expect(shown_ids.size).to be_between(1, AgentSession.count - 1), params.inspect
        end
    end

    it "keeps the filters on the next page's link" do
      with_agent_config(dashboard_per_page: 1) { get "/agents/sessions", params: { model: "claude-haiku" } }
      expect(html.at_css("a#agent_page_older")["href"]).to include("model=claude-haiku")
    end
  end

  describe "a session (GET /agents/sessions/:id)" do
    let(:session) { AgentSession.create!(prompt: "Refund A1", status: "running", model_id: "claude-haiku", num_turns: 2) }

    before do
      session.agent_messages.create!(position: 1, message_type: "assistant", content: "Looking <it> up",
                                     tool_calls: [{ "id" => "t1", "name" => "Read", "input" => {} }])
    end

    it "shows the transcript, the status badge and subscribes to the session's stream" do
      get "/agents/sessions/#{session.id}"
      expect(response).to have_http_status(:ok)
      expect(response.body).to include("Looking &lt;it&gt; up", %(id="status_agent_session_#{session.id}"))
      source = html.at_css("turbo-cable-stream-source")
      expect(Turbo::StreamsChannel.verified_stream_name(source["signed-stream-name"])).to eq(session.to_gid_param)
      expect(html.at_css("#agent_messages [data-message-type='assistant']")).not_to be_nil
      expect(html.at_css("#agent_cancel")).not_to be_nil
      expect(html.at_css("script[src$='/agents/turbo.js']")).not_to be_nil
    end

    it "as Turbo Streams after a message (the page catching up once subscribed): the later messages and the badge" do
      later = session.agent_messages.create!(position: 2, message_type: "user", content: "the tool's answer")
      get "/agents/sessions/#{session.id}", params: { after: session.agent_messages.first.id },
                                            headers: { "Accept" => "text/vnd.turbo-stream.html" }
      expect(response.media_type).to eq("text/vnd.turbo-stream.html")
      appended = Nokogiri::HTML.fragment(response.body).css("turbo-stream[action=append][target=agent_messages]")
      expect(appended.map { |stream| stream.at_css("template").inner_html[/id="(agent_message_\d+)"/, 1] })
        .to eq(["agent_message_#{later.id}"])
      expect(response.body).to include(%(<turbo-stream action="replace" target="status_agent_session_#{session.id}">))
    end

    it "renders with the dashboard's own partials when the app has none" do
      with_agent_config(message_partial: "missing/message", status_partial: "missing/status") do
        get "/agents/sessions/#{session.id}"
      end
      expect(response).to have_http_status(:ok)
      expect(response.body).to include("Looking &lt;it&gt; up", %(id="status_agent_session_#{session.id}"))
    end

    it "serves turbo-rails' Turbo (with its Action Cable stream source) for the live transcript" do
      get "/agents/turbo.js"
      expect(response).to have_http_status(:ok)
      expect(response.media_type).to eq("text/javascript")
      expect(response.body).to include("turbo-cable-stream-source")
    end

    it "Cancel asks a running session to stop, and cancels a pending one" do
      post "/agents/sessions/#{session.id}/cancel"
      expect(response).to redirect_to("/agents/sessions/#{session.id}")
      expect(session.reload.cancel_requested_at).not_to be_nil
      pending = AgentSession.create!(prompt: "later")
      post "/agents/sessions/#{pending.id}/cancel"
      expect(pending.reload.status).to eq("cancelled")
    end

    describe "approvals" do
      let(:store) { RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore.model }

      before do
        session.update!(status: "awaiting_approval")
        %w[t1 t2].each do |id|
          store.create!(agent_session_id: session.id, key: "approval:#{id}", tool_name: "issue_refund",
                        input: { "tool_use_id" => id, "input" => { "order" => "A1" } }, status: "awaiting_approval")
        end
      end

      it "shows an Approve button and a Reject form per paused call" do
        get "/agents/sessions/#{session.id}"
        expect(html.css("#approvals_agent_session_#{session.id} .agent-approval").map { |d| d["data-agent-approval"] })
          .to eq(%w[t1 t2])
        box = html.at_css("#approvals_agent_session_#{session.id}")
        expect(box["data-approve-url"]).to eq("/agents/sessions/#{session.id}/approvals/TOOL_USE_ID/approve")
        expect(box["data-reject-url"]).to eq("/agents/sessions/#{session.id}/approvals/TOOL_USE_ID/reject")
        expect(html.at_css("#agent_approve_t1")["value"] || html.at_css("#agent_approve_t1").text).to include("Approve")
        expect(html.at_css("#agent_reject_t2")["value"]).to eq("Reject")
      end

      it "Approve and Reject decide the calls; the last decision enqueues the continuation" do
        post "/agents/sessions/#{session.id}/approvals/t1/approve"
        expect(response).to redirect_to("/agents/sessions/#{session.id}")
        expect(store.find_by(key: "approval:t1").status).to eq("approved")
        expect(session.reload.status).to eq("awaiting_approval")
        expect do
          post "/agents/sessions/#{session.id}/approvals/t2/reject", params: { reason: "too much" }
        end.to have_enqueued_job(AgentJob)
        expect(store.find_by(key: "approval:t2").then { |r| [r.status, r.result] }).to eq(["rejected", "too much"])
        expect(session.reload.status).to eq("pending")
        post "/agents/sessions/#{session.id}/approvals/t2/approve"
        follow_redirect!
        expect(html.at_css("#agent_alert").text).to include("decided already")
      end
    end
  end

  describe "who may see it" do
    let(:session) { AgentSession.create!(prompt: "secret prompt", status: "running") }
    let(:pages) { ["/agents", "/agents/sessions", "/agents/sessions/#{session.id}", "/agents/turbo.js"] }

    def production!
      allow(Rails).to receive(:env).and_return(ActiveSupport::EnvironmentInquirer.new("production"))
    end

    it "answers 403 in production when no hook is configured, and changes nothing" do
      production!
      pages.each do |path|
        get path
        expect(response).to have_http_status(:forbidden), path
        expect(response.body).not_to include("secret prompt")
      end
      post "/agents/sessions/#{session.id}/cancel"
      expect(response).to have_http_status(:forbidden)
      expect(session.reload.cancel_requested_at).to be_nil
    end

    it "lets anyone in during development and test without a hook" do
      get "/agents/sessions/#{session.id}"
      expect(response).to have_http_status(:ok)
    end

    it "asks the hook with the controller: false is 403 everywhere, true lets in" do
      production!
      seen = []
      with_agent_config(dashboard_authorize: ->(controller) { seen << controller.class; controller.params[:let_in] == "1" }) do
        pages.each do |path|
          get path
          expect(response).to have_http_status(:forbidden), path
          get path, params: { let_in: "1" }
          expect(response).to have_http_status(:ok), path
        end
        post "/agents/sessions/#{session.id}/cancel"
        expect(session.reload.cancel_requested_at).to be_nil
      end
      expect(seen).to all(be < RubyLLM::AgentSDK::Dashboard::ApplicationController)
    end
  end

  it "eager loads, as production does (Zeitwerk names its files RubyLLM::AgentSDK::Dashboard::…)" do
    %w[controllers helpers].each do |dir|
      Rails.autoloaders.main.eager_load_dir(RubyLLM::AgentSDK::Dashboard::Engine.root.join("app", dir).to_s)
    end
    expect(RubyLLM::AgentSDK::Dashboard::PlotHelper).to be_a(Module)
    expect(RubyLLM::AgentSDK::Dashboard::ApprovalsController.superclass).to eq(RubyLLM::AgentSDK::Dashboard::ApplicationController)
  end

  describe "the Recorder's tool_errors (what the tool error rate counts)" do
    it "names the tools whose tool_result blocks are errors" do
      session = AgentSession.create!(prompt: "hi")
      recorder = RubyLLM::AgentSDK::ActiveRecord::Recorder.new(session)
      recorder.record_line(JSON.generate(
                             type: "assistant",
                             message: { role: "assistant",
                                        content: [{ type: "tool_use", id: "a", name: "Read", input: {} },
                                                  { type: "tool_use", id: "b", name: "Bash", input: {} },
                                                  { type: "tool_use", id: "c", name: "Bash", input: {} }] }
                           ))
      row = recorder.record_line(JSON.generate(
                                   type: "user",
                                   message: { role: "user",
                                              content: [{ type: "tool_result", tool_use_id: "a", content: "ok" },
                                                        { type: "tool_result", tool_use_id: "b", content: "no", is_error: true },
                                                        { type: "tool_result", tool_use_id: "c", content: "no", is_error: true }] }
                                 ))
      expect(row.reload.metadata["tool_errors"]).to eq(%w[Bash Bash])
      # a later run's result for a call stored earlier (an approval's continuation) finds the name in the rows
      later = RubyLLM::AgentSDK::ActiveRecord::Recorder.new(session)
      row = later.record_line(JSON.generate(type: "user", message: { role: "user", content: [
                                              { type: "tool_result", tool_use_id: "a", content: "x", is_error: true }
                                            ] }))
      expect(row.reload.metadata["tool_errors"]).to eq(["Read"])
    end
  end
end
