# frozen_string_literal: true

require "rails_helper"

RSpec.describe "spec/dummy" do
  it "boots Rails in the test environment with only the frameworks the gem needs" do
    expect(Rails.application.class.name).to eq("Dummy::Application")
    expect(Rails.env).to eq("test")
    expect(defined?(ActiveStorage) || defined?(ActionMailer) || defined?(ActionText)).to be_nil
    expect(defined?(Turbo::StreamsChannel)).to eq("constant")
    expect(Rails.application.config.eager_load).to be(false)
  end
end
